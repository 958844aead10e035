"""Cold starts of every route beside a bare httpx function hosted the same way, in one run, interleaved, medians
(python -m bench.cold_routes [--runs N]).

Each measure is a fresh process (bench/serve_once.py) from spawn to its answer: the route's function, then the bare
function doing the same upstream work over httpx (OpenAI's request for the reply, key and call; the conversation
list's PostgREST requests for the Supabase-backed first request; nothing for transcript, rooms and config).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import time

from bench.run import PYTHON, ROOT, base_env, start_stand_in, supabase_project

BOUND = 1.5
ROUTES = {  # name: (function, bare floor route, method, path, body, raw SDP?, on Supabase?)
    "whole reply": ("api/groupchat/chat.py", "chat", "POST", "/api/groupchat/chat", {"message": "bonjour"}, False,
                    False),
    "realtime key": ("api/realtime/key.py", "key", "POST", "/api/realtime/key", {}, False, False),
    "call relay": ("api/realtime/call.py", "call", "POST", "/api/realtime/call", None, True, False),
    "transcript": ("api/realtime/transcript.py", "transcript", "POST", "/api/realtime/transcript",
                   {"callId": "rtc_1", "items": []}, False, False),
    "rooms": ("api/groupchat/members.py", "rooms", "POST", "/api/groupchat/members", {"title": "Budget"}, False,
              False),
    "config": ("api/config.py", "config", "GET", "/api/config", None, False, False),
    "Supabase-backed first request": ("api/groupchat/chat.py", "supabase", "GET", "/api/groupchat/chat", None, False,
                                      True),
}


def real_offer() -> str:
    """A browser-like WebRTC offer (audio and the events channel), made with aiortc, for the stand-in to answer."""
    import asyncio

    from aiortc import RTCPeerConnection

    async def make() -> str:
        peer = RTCPeerConnection()
        peer.addTransceiver("audio")
        peer.createDataChannel("oai-events")
        await peer.setLocalDescription(await peer.createOffer())
        sdp = peer.localDescription.sdp
        await peer.close()
        return sdp

    return asyncio.run(make())


OFFER: list[str] = []


def once(kind: str, target: str, method: str, path: str, body, raw: bool, env: dict, headers: dict) -> tuple[float, int]:
    """Seconds from spawning a fresh process to its whole answer, and the answer's status."""
    if raw and not OFFER:
        OFFER.append(real_offer())
    started = time.perf_counter()
    child = subprocess.Popen([PYTHON, "-m", "bench.serve_once", kind, target], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(child.stdout.readline())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = OFFER[0].encode() if raw else (json.dumps(body).encode() if body is not None else None)
    connection.request(method, path, body=data, headers={
        "Content-Type": "application/sdp" if raw else "application/json", **headers})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    child.wait(30)
    return elapsed, response.status


def run(runs: int) -> dict:
    stand_in, base_url = start_stand_in()
    times = {(name, kind): [] for name in ROUTES for kind in ("function", "floor")}
    statuses = {}
    try:
        with supabase_project() as supabase:
            for _ in range(runs):  # interleaved: drift on the machine touches every variant alike
                for name, (function, floor, method, path, body, raw, on_supabase) in ROUTES.items():
                    env = {**base_env(base_url), **(supabase["env"] if on_supabase else {})}
                    headers = supabase["headers"] if on_supabase else {}
                    for kind, target in (("function", function), ("floor-bare", floor)):
                        elapsed, status = once(kind, target, method, path, body, raw, env, headers)
                        times[(name, "function" if kind == "function" else "floor")].append(elapsed)
                        statuses[(name, kind)] = status
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    result = {}
    for name in ROUTES:
        function, floor = (statistics.median(times[(name, k)]) * 1000 for k in ("function", "floor"))
        result[name] = {"function_ms": round(function, 1), "floor_ms": round(floor, 1),
                        "ratio": round(function / floor, 2), "status": statuses[(name, "function")], "runs": runs}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    result = run(args.runs)
    print(f"| route (median of {args.runs}, interleaved) | function | bare httpx function | ratio | "
          f"goal | met |")
    print("|---|---|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} ({r['status']}) | {r['function_ms']} ms | {r['floor_ms']} ms | {r['ratio']}x | "
              f"<= {BOUND}x | {'yes' if r['ratio'] <= BOUND else 'no'} |")
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "cold_routes.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
