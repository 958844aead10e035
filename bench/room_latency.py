"""How soon another member sees a room's question and the assistant's first words (issue 22's p95 target: 2.5 s).

    .venv/bin/python -m bench.room_latency [--interval 2] [--trials 30] [--first-token 0.6] [--words-per-second 30]

Everything real but OpenAI: the dev server (every api/ function, SQLite history in a temporary directory, two
named dashboard tokens as the owner and a member), and the offline OpenAI stand-in streaming its reply at a
realistic pace (a first-token delay, then words at a steady rate). Each trial, the owner asks the assistant in
the room (streamed, as the page does) while the member polls `GET ?conversationId=&after=<id>` every `interval`
seconds, as the dashboard does (2 s while visible), from a phase of its own (a page's timer is not aligned with
anyone's question). Measured from the owner's request: when the member's poll first returns the question, and
first returns the reply with some text; the owner's own first delta for comparison. p50 and p95 over the trials.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import statistics
import tempfile
import threading
import time

OWNER, MEMBER = "owner-token-for-the-benchmark-0001", "member-token-for-the-benchmark-0001"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def request(port: int, method: str, path: str, body: dict | None, token: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    data = json.loads(response.read() or b"{}")
    connection.close()
    assert response.status < 300, (response.status, data)
    return data


def paced_stand_in(first_token: float, words_per_second: float):
    """The OpenAI stand-in, answering after `first_token` seconds and then at `words_per_second`."""
    from dev.fake_openai import FakeOpenAI, FakeOpenAIHandler

    class Paced(FakeOpenAIHandler):
        def _send_stream(self, body, text, usage, fault):
            time.sleep(first_token)
            return super()._send_stream(body, text, usage, fault)

    server = FakeOpenAI(chunk_delay=1 / words_per_second)
    server.RequestHandlerClass = Paced
    return server.start()


def trial(port: int, conversation: str, interval: float, question: str) -> dict:
    """One question from the owner, watched by the member's polling; seconds from the owner's request."""
    last = request(port, "GET", f"/api/groupchat/chat?conversationId={conversation}", None, MEMBER)["messages"]
    after = last[-1]["id"] if last else 0
    seen: dict[str, float] = {}
    done = threading.Event()
    start = time.perf_counter() + random.uniform(0, interval)  # the page's poll timer, at its own phase
    asked = threading.Event()
    t0 = [0.0]

    def watch():
        next_poll = start
        while not done.is_set():
            time.sleep(max(0.0, next_poll - time.perf_counter()))
            messages = request(port, "GET", f"/api/groupchat/chat?conversationId={conversation}&after={after}",
                               None, MEMBER)["messages"]
            now = time.perf_counter()
            if asked.is_set():
                if any(m["role"] == "user" and m["content"] == question for m in messages):
                    seen.setdefault("question", now - t0[0])
                if any(m["role"] == "assistant" and m["content"] for m in messages):
                    seen.setdefault("first words", now - t0[0])
                if {"question", "first words"} <= seen.keys():
                    return
            next_poll += interval

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(random.uniform(0, interval))  # the question comes at any moment of the member's poll cycle
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0[0] = time.perf_counter()
    asked.set()
    connection.request("POST", "/api/groupchat/chat", body=json.dumps(
        {"message": question, "conversationId": conversation, "stream": True}).encode(),
        headers={"Authorization": f"Bearer {OWNER}", "Content-Type": "application/json"})
    response = connection.getresponse()
    while True:
        line = response.readline()
        if not line:
            break
        if line.startswith(b"event: delta"):
            seen.setdefault("asker's first delta", time.perf_counter() - t0[0])
    connection.close()
    watcher.join(timeout=interval * 2 + 30)  # the reply is stored: the next poll or two sees it
    done.set()
    watcher.join()
    return seen


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=2.0, help="the member's polling interval, seconds")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--first-token", type=float, default=0.6, help="OpenAI's time to first token, seconds")
    parser.add_argument("--words-per-second", type=float, default=30.0, help="the reply's pace after that")
    parser.add_argument("--words", type=int, default=110, help="words in each reply")
    args = parser.parse_args(argv)

    stand_in = paced_stand_in(args.first_token, args.words_per_second)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"OPENAI_API_KEY": "sk-offline-standin", "OPENAI_BASE_URL": stand_in.base_url,
                           "HISTORY_DB": os.path.join(tmp, "history.sqlite3"), "ALLOW_ANONYMOUS": "0",
                           "DASHBOARD_TOKENS": f"Owner:{OWNER},Member:{MEMBER}"})
        for limit in ("CHAT_RATE_LIMIT_PER_MINUTE", "CHAT_DAILY_MESSAGE_LIMIT", "GLOBAL_DAILY_MESSAGE_LIMIT",
                      "GLOBAL_DAILY_TOKEN_LIMIT"):
            os.environ[limit] = "0"
        import lib.log  # noqa: F401 - it sets the api logger's level when first imported
        from dev.server import DevServer

        logging.getLogger("api").setLevel(logging.WARNING)  # each request's info line: errors still show
        server = DevServer(("127.0.0.1", 0))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        port = server.server_port
        try:
            conversation = request(port, "POST", "/api/groupchat/members", {"title": "Banc d'essai"},
                                   OWNER)["conversationId"]
            invite = request(port, "POST", "/api/groupchat/members", {"conversationId": conversation}, OWNER)
            request(port, "POST", "/api/groupchat/members", {"invite": invite["invite"]}, MEMBER)
            results: dict[str, list[float]] = {}
            for n in range(args.trials):
                question = f"@IA question {n} " + " ".join(f"mot{k}" for k in range(args.words - 4))
                for name, seconds in trial(port, conversation, args.interval, question).items():
                    results.setdefault(name, []).append(seconds)
        finally:
            server.shutdown()
            server.server_close()
            stand_in.shutdown()
    print(f"polling every {args.interval} s, first token after {args.first_token} s, "
          f"{args.words_per_second} words/s, {args.trials} trials")
    for name in ("asker's first delta", "question", "first words"):
        values = results.get(name, [])
        if values:
            print(f"  {name:<22} p50 {statistics.median(values):5.2f} s   p95 {percentile(values, 0.95):5.2f} s"
                  f"   ({len(values)} of {args.trials} seen)")


if __name__ == "__main__":
    main()
