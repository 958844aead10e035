"""Search over 1,000,000 messages in the Supabase-like database (issue 28's target: p95 under 20 ms).

    .venv/bin/python -m bench.search [--users 4000] [--conversations 25] [--messages 10] [--heavy 2000] [--rounds 200]

A throwaway PostgreSQL with Supabase's roles and every migration, and the real PostgREST over it
(tests/standins). Seeded by generate_series: `users` users with `conversations` conversations of `messages`
messages each (4,000 x 25 x 10 = 1,000,000), every message a dozen French and English words, one in 500 with the
rarer "dividende", and one heavy user with `heavy` conversations (10 messages each); then ANALYZE. Each round, a
random ordinary user searches a common word, a rarer one, two words, two letters and a word found nowhere, through
SupabaseStore.search (the store the API uses: HTTP to PostgREST, the SQL function, back), once through the tests'
gateway (a Python stand-in for Supabase's) and once straight to PostgREST, as bench/ceilings.py calls it; and the
same call is timed in the database alone (EXPLAIN ANALYZE's execution time). p50 and p95 per kind, and for the heavy
user.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

QUERIES = {"common word": "budget", "rarer word": "dividende", "two words": "mortgage rate", "two letters": "ta",
           "no match": "introuvable"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def seed_quickly(db, users: int, conversations: int, messages: int, heavy: int):
    """tests/test_search_plan.seed, with the trigram index built once after the rows rather than row by row."""
    from tests.test_search_plan import seed

    index = "public.messages_user_id_content_trgm_idx"
    definition = db.execute("select pg_get_indexdef(%s::regclass)", (index,)).fetchone()[0]
    db.execute(f"drop index {index}")
    seed(db, users, conversations, messages, heavy)
    db.execute(definition)
    db.execute("analyze public.messages")


def database_ms(db, user: str, query: str) -> float:
    plan = db.execute("explain (analyze, format json) select * from public.search_history(%s, %s, 51, null, "
                      "null)", (user, query)).fetchone()[0]
    return (plan if isinstance(plan, list) else json.loads(plan))[0]["Execution Time"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--conversations", type=int, default=25)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--heavy", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    import psycopg

    from lib.stores.rest import Client
    from lib.stores.supabase import SupabaseStore
    from tests.standins.postgres import Postgres
    from tests.standins.postgrest import SupabaseRest

    postgres = Postgres().start()
    try:
        started = time.perf_counter()
        with psycopg.connect(postgres.dsn_as("supabase_admin"), autocommit=True) as db:
            seed_quickly(db, args.users, args.conversations, args.messages, args.heavy)
            count = db.execute("select count(*) from public.messages").fetchone()[0]
            ids = {u: db.execute("select md5('user' || %s)::uuid::text", (u,)).fetchone()[0]
                   for u in range(args.users + 1)}
        print(f"seeded {count:,} messages in {time.perf_counter() - started:.0f} s")
        rest = SupabaseRest(postgres).start()
        try:
            store = SupabaseStore(rest.url, rest.SERVICE_KEY, 30.0)
            direct = SupabaseStore(rest.url, rest.SERVICE_KEY, 30.0)
            direct.client = Client(f"http://127.0.0.1:{rest.postgrest.port}", rest.SERVICE_KEY, 30.0)
            picker = random.Random(28)
            timings: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {}
            with psycopg.connect(postgres.dsn_as("supabase_admin"), autocommit=True) as db:
                for kind, query in QUERIES.items():  # warm: the first call of each pays for the plan's catalog reads
                    store.search(ids[1], query, limit=51)
                    direct.search(ids[1], query, limit=51)
                for n in range(args.rounds):
                    for who, user in (("user", ids[picker.randint(1, args.users)]), ("heavy user", ids[0])):
                        if who == "heavy user" and n % 4:
                            continue  # a quarter of the rounds: the heavy user is one person, not a crowd
                        for kind, query in QUERIES.items():
                            t = time.perf_counter()
                            store.search(user, query, limit=51)
                            through_store = (time.perf_counter() - t) * 1000
                            t = time.perf_counter()
                            direct.search(user, query, limit=51)
                            straight = (time.perf_counter() - t) * 1000
                            wall, rest_ms, db_ms = timings.setdefault((who, kind), ([], [], []))
                            wall.append(through_store)
                            rest_ms.append(straight)
                            db_ms.append(database_ms(db, user, query))
            print(f"\n{'who':<11} {'query':<12} {'gateway p50':>12} {'p95':>6} {'PostgREST p50':>14} {'p95':>6} "
                  f"{'db p50':>7} {'p95':>6}  (ms)")
            everyone = [[], [], []]
            for (who, kind), columns in timings.items():
                for total, column in zip(everyone, columns):
                    total += column if who == "user" else []
                print(f"{who:<11} {kind:<12} " + " ".join(
                    f"{statistics.median(c):>{w}.1f} {percentile(c, 0.95):>6.1f}" for c, w in zip(columns, (12, 14, 7))))
            print(f"\nall ordinary users' searches: p95 {percentile(everyone[0], 0.95):.1f} ms through the gateway, "
                  f"{percentile(everyone[1], 0.95):.1f} ms straight to PostgREST, {percentile(everyone[2], 0.95):.1f} ms "
                  f"in the database, over {len(everyone[0])} searches")
        finally:
            rest.stop()
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
