"""What an open room costs the store: opening a 10,000-message room and polling it, on the Supabase store.

    .venv/bin/python -m bench.room_poll [--messages 10000] [--runs 200] [--clients 8] [--seconds 5]

Everything real but OpenAI, as the tests run it: a PostgreSQL cluster with the project's migrations and Supabase's
roles, the real PostgREST behind the /rest/v1 gateway, and the chat function (api/groupchat/chat.py) served on
loopback. A room of two people holds `--messages` messages (seeded by SQL). Measured through the function: opening
the room (its newest page), an idle poll (`after` = the newest id: nothing new), the PostgREST requests each makes,
the database's own time for the poll's query (EXPLAIN ANALYZE of conversation_read as the service role), and how
many idle polls per second one function process answers with `--clients` pollers. From these, what open rooms cost
at the page's polling intervals (public/js/chat.js).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import threading
import time
import uuid

POLL_MS = {"visible": 1500, "quiet": 2000}  # public/js/chat.js's intervals for a visible tab


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def seed(postgres, messages: int) -> tuple[str, str, str]:
    """A room of two (owner, member) holding `messages` messages; (owner id, member id, conversation id)."""
    owner, member, conversation = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    postgres.add_user(owner)
    postgres.add_user(member)
    postgres.execute(f"""
        insert into public.conversations (id, user_id, title) values ('{conversation}', '{owner}', 'Salon');
        insert into public.conversation_members (conversation_id, user_id, role, name) values
          ('{conversation}', '{owner}', 'owner', 'Camille'), ('{conversation}', '{member}', 'member', 'Conseiller');
        insert into public.messages (conversation_id, user_id, role, content, author_id, author_name)
          select '{conversation}', '{owner}', case when n % 2 = 0 then 'user' else 'assistant' end,
                 repeat('Une phrase de conseil financier. ', 8) || n,
                 case when n % 4 = 0 then '{member}'::uuid end, case when n % 4 = 0 then 'Conseiller' end
          from generate_series(1, {messages}) n;
        analyze public.messages;""")
    return owner, member, conversation


def timed(port: int, path: str, headers: dict, runs: int) -> tuple[list[float], bytes]:
    """Milliseconds per GET over `runs` requests on one kept-alive connection, and the last answer."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, body = [], b""
    for _ in range(runs):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (response.status, body[:200])
    connection.close()
    return times, body


def served_per_second(port: int, path: str, headers: dict, clients: int, seconds: float) -> float:
    """Idle polls answered per second by one function process, `clients` pollers asking back to back."""
    import http.client

    counts, stop = [0] * clients, threading.Event()

    def poller(n: int):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            counts[n] += 1
        connection.close()

    threads = [threading.Thread(target=poller, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def database_ms(postgres, member: str, conversation: str, after: int, runs: int = 50) -> float:
    """The poll's query as the database runs it for PostgREST (the service role): median execution time, ms."""
    import psycopg

    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute("set role service_role")
        times = []
        for _ in range(runs):
            plan = db.execute("explain (analyze, format json) select public.conversation_read(%s, %s, %s, null, 200)",
                              (member, conversation, after)).fetchone()[0]
            times.append(plan[0]["Execution Time"])
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    from tests.helpers import LoopbackServer, load_handler
    from tests.standins.postgres import Postgres
    from tests.standins.postgrest import JWT_SECRET, SupabaseRest, user_token

    import lib.log  # noqa: F401 - it sets the api logger's level when first imported

    logging.getLogger("api").setLevel(logging.WARNING)  # each request's info line: errors still show
    postgres = Postgres().start()
    rest = SupabaseRest(postgres).start()
    try:
        owner, member, conversation = seed(postgres, args.messages)
        os.environ.update({"SUPABASE_URL": rest.url, "SUPABASE_SERVICE_ROLE_KEY": rest.SERVICE_KEY,
                           "SUPABASE_JWT_SECRET": JWT_SECRET, "OPENAI_API_KEY": "sk-bench"})
        os.environ.pop("HISTORY_DB", None)
        server = LoopbackServer(load_handler("groupchat/chat.py"))
        headers = {"Authorization": f"Bearer {user_token(member, iss=f'{rest.url}/auth/v1')}"}
        path = f"/api/groupchat/chat?conversationId={conversation}"
        opened, answer = timed(server.port, path, headers, max(20, args.runs // 4))
        open_bytes, newest = len(answer), json.loads(answer)["messages"][-1]["id"]
        before = len(rest.requests)
        polled, _ = timed(server.port, f"{path}&after={newest}", headers, args.runs)
        per_poll = (len(rest.requests) - before) / args.runs
        db_ms = database_ms(postgres, member, conversation, newest)
        rate = served_per_second(server.port, f"{path}&after={newest}", headers, args.clients, args.seconds)
        server.shutdown()
    finally:
        rest.stop()
        postgres.stop()

    per_minute = {name: 60_000 / ms for name, ms in POLL_MS.items()}
    report = {
        "messages": args.messages,
        "open_ms": {"p50": percentile(opened, 0.5), "p95": percentile(opened, 0.95)}, "open_bytes": open_bytes,
        "idle_poll_ms": {"p50": percentile(polled, 0.5), "p95": percentile(polled, 0.95)},
        "postgrest_requests_per_poll": per_poll, "database_ms_per_poll": db_ms,
        "idle_polls_per_second_one_process": rate,
        "requests_per_open_member_per_minute": per_minute,
        "thousand_rooms_three_watching": {
            name: {"polls_per_second": 3000 * n / 60, "database_requests_per_second": 3000 * n / 60 * per_poll,
                   "database_cpu_seconds_per_second": 3000 * n / 60 * per_poll * db_ms / 1000,
                   "function_processes": 3000 * n / 60 / rate}
            for name, n in per_minute.items()},
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
