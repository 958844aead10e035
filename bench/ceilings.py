"""Deployment-wide ceilings on the Supabase store: waves of 50 concurrent reservations of a chat message (the
caller's buckets and the two global ones), each a reserve_rate_limits call through PostgREST as lib/limits.py makes
it, from 50 client processes (50 function instances); beside it, the same waves of an RPC that does nothing, of the
settlements that follow each reply (settle_rate_limits: its token buckets corrected by what the reply really cost,
150 tokens more, then 150 fewer), and the row-lock waits PostgreSQL logged (python -m bench.ceilings [--rounds N]).

Sharded: the global buckets' subject is `global`, spread over 8 rows (20261207800000_sharded_ceilings.sql).
One hot row: the same buckets under another subject, which stays one row each: what every message paid before.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import statistics
import time
import uuid

from bench.run import ROOT, percentile, supabase_project

CLIENTS = 50
DAY, MINUTE = 86400, 60
LOCK_WAIT = re.compile(rb"acquired \w+ on .* after ([0-9.]+) ms")


def buckets(user: str, shared: str, run: str):
    from lib.stores import Bucket

    return [Bucket("chat:minute", MINUTE, 10**9, 1, user), Bucket("chat:day", DAY, 10**9, 1, user),
            Bucket("tokens:day", DAY, 10**12, 400, user),
            Bucket(f"global:chat:day:{run}", DAY, 10**9, 1, shared),
            Bucket(f"global:tokens:day:{run}", DAY, 10**12, 400, shared)]


def client(postgrest_url: str, key: str, shared: str | None, settling: bool, run: str, rounds: int, start, waits):
    """One function instance: its own HTTP client, one reservation (or settlement, or the RPC that does nothing) per
    wave."""
    from lib.stores import Charge
    from lib.stores.rest import Client
    from lib.stores.supabase import SupabaseStore

    store = SupabaseStore(postgrest_url, key, 30.0)
    # Straight to PostgREST: the tests' gateway (a Python stand-in for Supabase's own) would be the queue here.
    store.client = Client(postgrest_url, key, 30.0)
    user = uuid.uuid4().hex
    today = int(time.time() // DAY * DAY)

    def once(n: int = 0):
        if shared is None:
            store.client.rpc("ceiling_slice", {"p_limit": 8, "p_shard": 0, "p_shards": 8}).execute()
        elif settling and n:
            delta = 150 if n % 2 else -150
            store.settle_limits([Charge(user, "tokens:day", today, delta),
                                 Charge(shared, f"global:tokens:day:{run}", today, delta)])
        else:
            assert all(usage.allowed for usage in store.reserve_limits(buckets(user, shared, run)))

    once()  # connected, and the user's rows exist, as after their first message
    mine = []
    for n in range(1, rounds + 1):
        start.wait()
        began = time.perf_counter()
        once(n)
        mine.append(time.perf_counter() - began)
    waits.put(mine)


def measure(project: dict, shared: str | None, settling: bool, rounds: int) -> dict:
    """`rounds` waves of CLIENTS calls at once, each from its own process: every call's wait, and PostgreSQL's
    row-lock waits over 1 ms meanwhile."""
    run = uuid.uuid4().hex[:8]
    context = multiprocessing.get_context("spawn")
    start, waits = context.Barrier(CLIENTS), context.Queue()
    log_from = project["log"].stat().st_size
    processes = [context.Process(target=client, args=(project["postgrest_url"],
                                                     project["env"]["SUPABASE_SERVICE_ROLE_KEY"], shared, settling, run, rounds,
                                                     start, waits)) for _ in range(CLIENTS)]
    for process in processes:
        process.start()
    every = [wait for _ in processes for wait in waits.get(timeout=600)]
    for process in processes:
        process.join()
    with open(project["log"], "rb") as log:
        log.seek(log_from)
        locks = [float(m.group(1)) for m in LOCK_WAIT.finditer(log.read())]
    return {"reservations": len(every), "p50_ms": round(statistics.median(every) * 1000, 1),
            "p95_ms": round(percentile(every, 0.95) * 1000, 1), "lock_waits_over_1ms": len(locks),
            "lock_wait_ms_total": round(sum(locks), 1), "lock_wait_ms_longest": round(max(locks, default=0), 1)}


def log_lock_waits(admin_dsn: str):
    """PostgreSQL logs every row-lock wait longer than 1 ms, and how long it was when the lock came."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute("alter system set log_lock_waits = on")
        connection.execute("alter system set deadlock_timeout = '1ms'")
        connection.execute("select pg_reload_conf()")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)

    with supabase_project() as project:
        log_lock_waits(project["admin_dsn"])
        hot = "hot-" + uuid.uuid4().hex[:6]
        variants = (("an RPC that does nothing (the floor)", None, False), ("sharded (global)", "global", False),
                    ("one hot row", hot, False), ("settlements, sharded (global)", "global", True),
                    ("settlements, one hot row", hot, True))
        result = {}
        for _ in range(2):  # interleaved, twice: the second round is reported
            for name, shared, settling in variants:
                result[name] = measure(project, shared, settling, args.rounds)
    print(f"| {CLIENTS} concurrent calls from {CLIENTS} processes, through PostgREST ({args.rounds} waves) | p50 wait | "
          "p95 wait | row-lock waits > 1 ms | their total | longest |")
    print("|---|---|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['p50_ms']} ms | {r['p95_ms']} ms | {r['lock_waits_over_1ms']} | "
              f"{r['lock_wait_ms_total']} ms | {r['lock_wait_ms_longest']} ms |")
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "ceilings.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
