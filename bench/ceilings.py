"""Deployment-wide ceilings on the Supabase store: 50 concurrent reservations of a chat message (the caller's
buckets and the two global ones), each a reserve_rate_limits call through PostgREST, as lib/limits.py makes it
(python -m bench.ceilings [--rounds N]).

Sharded: the global buckets' subject is `global`, spread over 8 rows (20261207800000_sharded_ceilings.sql).
One hot row: the same buckets under another subject, which stays one row each: what every message paid before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.run import ROOT, percentile, supabase_project

CLIENTS = 50
DAY, MINUTE = 86400, 60


def buckets(user: str, shared: str, run: str):
    from lib.stores import Bucket

    return [Bucket("chat:minute", MINUTE, 10**9, 1, user), Bucket("chat:day", DAY, 10**9, 1, user),
            Bucket("tokens:day", DAY, 10**12, 400, user),
            Bucket(f"global:chat:day:{run}", DAY, 10**9, 1, shared),
            Bucket(f"global:tokens:day:{run}", DAY, 10**12, 400, shared)]


def measure(store, shared: str, rounds: int) -> dict:
    """`rounds` waves of CLIENTS reservations at once, each by its own user: every call's wait, and the rate."""
    run = uuid.uuid4().hex[:8]
    users = [uuid.uuid4().hex for _ in range(CLIENTS)]
    store.reserve_limits(buckets(users[0], shared, run))  # the day's rows exist, as after the first message
    waits: list[float] = []

    def one(user: str) -> float:
        started = time.perf_counter()
        usages = store.reserve_limits(buckets(user, shared, run))
        assert all(usage.allowed for usage in usages)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for _ in range(rounds):
            waits.extend(pool.map(one, users))
    elapsed = time.perf_counter() - started
    return {"reservations": len(waits), "per_second": round(len(waits) / elapsed),
            "p50_ms": round(statistics.median(waits) * 1000, 1), "p95_ms": round(percentile(waits, 0.95) * 1000, 1)}


def measure_sql(dsn: str, shared: str, rounds: int) -> dict:
    """The same waves straight to PostgreSQL (one connection per client, the function PostgREST calls): the
    database's own wait, without PostgREST's and the client's CPU."""
    import threading

    import psycopg

    from lib import limits

    run = uuid.uuid4().hex[:8]
    users = [uuid.uuid4().hex for _ in range(CLIENTS)]
    sql = "select * from reserve_rate_limits(%s, %s, %s, %s, %s, %s)"

    def args(user: str):
        b = buckets(user, shared, run)
        return (limits.time.time(), [x.subject for x in b], [x.name for x in b], [x.window for x in b],
                [x.limit for x in b], [x.cost for x in b])

    connections = [psycopg.connect(dsn, autocommit=True) for _ in range(CLIENTS)]
    connections[0].execute(sql, args(users[0]))
    waits: list[float] = []
    lock = threading.Lock()

    def client(number: int, start: threading.Barrier):
        for _ in range(rounds):
            start.wait()
            began = time.perf_counter()
            rows = connections[number].execute(sql, args(users[number])).fetchall()
            assert all(row[1] for row in rows)
            with lock:
                waits.append(time.perf_counter() - began)

    barrier = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=client, args=(n, barrier)) for n in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return {"reservations": len(waits), "per_second": round(len(waits) / elapsed),
            "p50_ms": round(statistics.median(waits) * 1000, 1), "p95_ms": round(percentile(waits, 0.95) * 1000, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    import sys

    sys.path.insert(0, str(ROOT))
    from lib.stores.supabase import SupabaseStore

    with supabase_project() as project:
        store = SupabaseStore(project["env"]["SUPABASE_URL"], project["env"]["SUPABASE_SERVICE_ROLE_KEY"], 30.0)
        result = {}
        for _ in range(2):  # interleaved, twice: the second pair is reported
            for name, shared in (("sharded (global)", "global"), ("one hot row", "hot-" + uuid.uuid4().hex[:6])):
                result[f"{name}, through PostgREST"] = measure(store, shared, args.rounds)
                result[f"{name}, straight to PostgreSQL"] = measure_sql(project["dsn"], shared, args.rounds)
    print(f"| {CLIENTS} concurrent reservations, Supabase store ({args.rounds} waves) | per second | p50 wait | "
          f"p95 wait | goal |")
    print("|---|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['per_second']} | {r['p50_ms']} ms | {r['p95_ms']} ms | "
              f"{'p95 < 30 ms' if name.startswith('sharded') else ''} |")
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "ceilings.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
