"""The streamed chat beside its peers, in one run: direct to the stand-in, this project's function, the bare
Python + httpx floor (bench/floor_relay.py) and a Node relay like the seed's (bench/node_relay.mjs, npm `openai`).

Every relay runs pinned to core 1 and the stand-in (with the load generator, this process) to core 0 when the
machine has two cores or more; each measure is repeated and interleaved, and reported as its median with the
range over repeats.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.run import (
    PYTHON, ROOT, SERVE_FUNCTION, base_env, cpu_seconds, first_event, load, peak_rss_mb, percentile, post,
)

RELAYS = ("function", "floor", "node")
NODE_DIR = Path(tempfile.gettempdir()) / "bench-node-relay"
CHAT_BODY = {"message": "bonjour", "stream": True}


def cores() -> tuple[list[str], list[str]]:
    """taskset prefixes for (stand-in side, relay side); empty where the machine cannot spare a core."""
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        return [], []
    return ["taskset", "-c", "0"], ["taskset", "-c", "1"]


def pin_self() -> None:
    """The load generator shares the stand-in's core, leaving the relay's core to the relay."""
    if cores()[0]:
        os.sched_setaffinity(0, {0})


def node_relay_dir() -> Path | None:
    """A temporary folder with npm's `openai` installed (once per machine boot); None without node and npm."""
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "openai"], cwd=NODE_DIR, check=True,
                       stdout=subprocess.DEVNULL)
    return NODE_DIR


def node_version() -> str | None:
    if not NODE_DIR.is_dir():
        return None
    package = NODE_DIR / "node_modules" / "openai" / "package.json"
    import json

    return f"node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}, " \
           f"npm openai {json.loads(package.read_text())['version']}"


def start_stand_in(chunk_delay: float) -> tuple[subprocess.Popen, str]:
    import json

    process = subprocess.Popen([*cores()[0], PYTHON, "-m", "dev.fake_openai", "--port", "0", "--chunk-delay",
                                str(chunk_delay)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return process, json.loads(process.stdout.readline())["base_url"]


def start_relay(name: str, base_url: str) -> tuple[subprocess.Popen, int]:
    """One relay process serving until its stdin closes; its port."""
    command = {
        "function": [PYTHON, "-c", SERVE_FUNCTION.format(root=str(ROOT))],
        "floor": [PYTHON, "-m", "bench.floor_relay"],
        "node": ["node", str(ROOT / "bench" / "node_relay.mjs"), str(NODE_DIR)],
    }[name]
    process = subprocess.Popen([*cores()[1], *command], cwd=ROOT, env=base_env(base_url), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return process, int(process.stdout.readline())


def stop(process: subprocess.Popen) -> None:
    if process.stdin:
        process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class Peers:
    """The relays (and direct) against one stand-in, for as long as the `with` block lasts."""

    def __init__(self, chunk_delay: float, names: tuple[str, ...]):
        self.stand_in, self.base_url = start_stand_in(chunk_delay)
        self.stand_in_port = int(self.base_url.split(":")[2].split("/")[0])
        self.relays = {name: start_relay(name, self.base_url) for name in names}

    def __enter__(self) -> "Peers":
        for name in self.relays:  # warm: imports, connection pools, JIT
            for _ in range(20):
                self.ttft(name, CHAT_BODY["message"])
        return self

    def __exit__(self, *exc):
        for process, _ in self.relays.values():
            stop(process)
        self.stand_in.terminate()
        self.stand_in.wait(10)

    def target(self, name: str, message: str) -> tuple[int, str, dict, bytes]:
        if name == "direct":
            body = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                    "messages": [{"role": "user", "content": message}]}
            return self.stand_in_port, "/v1/chat/completions", body, b"data: "
        return self.relays[name][1], "/api/groupchat/chat", {"message": message, "stream": True}, b"event: delta"

    def ttft(self, name: str, message: str) -> float:
        seconds, ok = first_event(*self.target(name, message))
        if not ok:
            raise RuntimeError(f"{name} did not stream a reply")
        return seconds


def summary(values: list[float], digits: int = 2) -> dict:
    """Median and range of one measure's repeats."""
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "repeats": len(values)}


def sequential(names: tuple[str, ...], repeats: int, requests: int) -> dict:
    """Time to first token, one request at a time, requests interleaved across the candidates; added = minus direct."""
    everyone = ("direct", *names)
    p50 = {name: [] for name in everyone}
    p95 = {name: [] for name in everyone}
    with Peers(0.0, names) as peers:
        for repeat in range(repeats):
            times = {name: [] for name in everyone}
            for number in range(requests):
                order = everyone[(number + repeat) % len(everyone):] + everyone[:(number + repeat) % len(everyone)]
                for name in order:
                    times[name].append(peers.ttft(name, CHAT_BODY["message"]))
            for name in everyone:
                p50[name].append(percentile(times[name], 0.5) * 1000)
                p95[name].append(percentile(times[name], 0.95) * 1000)
    return {"requests": requests, **{name: {
        "ttft_p50_ms": summary(p50[name]), "ttft_p95_ms": summary(p95[name]),
        "added_p50_ms": summary([a - b for a, b in zip(p50[name], p50["direct"])]),
        "added_p95_ms": summary([a - b for a, b in zip(p95[name], p95["direct"])]),
    } for name in everyone}}


REPLY_WORDS, TOKEN_GAP = 30, 0.02  # a streamed reply as users see one: 30 tokens, 20 ms apart (0.6 s)


def concurrent(names: tuple[str, ...], repeats: int, clients: int, seconds: float) -> dict:
    """`clients` chats streaming at once, each a realistic reply: CPU per reply, added TTFT p95, errors, RSS."""
    message = " ".join(["mot"] * (REPLY_WORDS - 1))  # the stand-in echoes it: 30 tokens with "Echo:"
    everyone = ("direct", *names)
    runs = {name: [] for name in everyone}
    with Peers(TOKEN_GAP, names) as peers:
        for repeat in range(repeats):
            for name in everyone[repeat % len(everyone):] + everyone[:repeat % len(everyone)]:
                pid = peers.relays[name][0].pid if name != "direct" else peers.stand_in.pid
                port, path, body, marker = peers.target(name, message)
                cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
                ttfts, errors, total = load(port, path, body, marker, clients, seconds)
                used = cpu_seconds(pid) - cpu_before
                runs[name].append({"ttft_p95_ms": percentile(ttfts, 0.95) * 1000, "errors": errors, "requests": total,
                                   "cpu_ms_per_reply": used / max(1, total) * 1000,
                                   "cores_used": used / (time.monotonic() - wall_before)})
        rss = {name: peak_rss_mb(peers.relays[name][0].pid) for name in names}
    direct = runs["direct"]
    result = {"clients": clients, "seconds": seconds, "reply": f"{REPLY_WORDS} tokens, {TOKEN_GAP * 1000:.0f} ms apart",
              "direct": {"ttft_p95_ms": summary([run["ttft_p95_ms"] for run in direct]),
                         "errors": sum(run["errors"] for run in direct)}}
    for name in names:
        mine = runs[name]
        result[name] = {
            "requests": sum(run["requests"] for run in mine), "errors": sum(run["errors"] for run in mine),
            "cpu_ms_per_reply": summary([run["cpu_ms_per_reply"] for run in mine]),
            "cores_used": summary([run["cores_used"] for run in mine]),
            "added_ttft_p95_ms": summary([a["ttft_p95_ms"] - b["ttft_p95_ms"] for a, b in zip(mine, direct)], 1),
            "peak_rss_mb": rss[name],
        }
    return result


def saturation(names: tuple[str, ...], repeats: int, clients: int, seconds: float) -> dict:
    """Replies per second with instant replies and clients back to back: the most one relay process can serve."""
    everyone = ("direct", *names)
    rates = {name: [] for name in everyone}
    with Peers(0.0, names) as peers:
        for repeat in range(repeats):
            for name in everyone[repeat % len(everyone):] + everyone[:repeat % len(everyone)]:
                _, errors, total = load(*peers.target(name, CHAT_BODY["message"]), clients, seconds)
                rates[name].append((total - errors) / seconds)
    return {"clients": clients, "seconds": seconds, **{name: {
        "replies_per_s": summary(rates[name], 0),
        "ratio_to_direct": summary([a / b for a, b in zip(rates[name], rates["direct"])]),
    } for name in everyone}}


def cold_streamed(runs: int, base_url: str, names: tuple[str, ...]) -> dict:
    """Spawn -> first complete streamed reply, a fresh process each time (a new instance), interleaved."""
    times = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            times[name].append(cold_once(name, base_url) * 1000)
    result = {name: summary(values, 1) for name, values in times.items()}
    result["ratio_function_to_floor"] = round(result["function"]["median"] / result["floor"]["median"], 3)
    return result


def cold_once(name: str, base_url: str) -> float:
    if name == "node":
        started = time.perf_counter()
        process, port = start_relay("node", base_url)
    else:
        kind, target = {"function": ("function", "api/groupchat/chat.py"), "floor": ("floor-httpx", "chat")}[name]
        started = time.perf_counter()
        process = subprocess.Popen([*cores()[1], PYTHON, "-m", "bench.serve_once", kind, target], cwd=ROOT,
                                   env=base_env(base_url), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        port = int(process.stdout.readline())
    status, data = post(port, "/api/groupchat/chat", CHAT_BODY)
    elapsed = time.perf_counter() - started
    stop(process)
    if status != 200 or b"event: done" not in data:
        raise RuntimeError(f"cold {name} answered {status}: {data[:200]!r}")
    return elapsed


def sdk_or_httpx(repeats: int, requests: int) -> dict:
    """Why the streamed chat skips the SDK and httpx: `import openai` (CPU, in a fresh process), and the CPU (this
    thread's) to open and read one streamed reply through the SDK, through the shared httpx client, and through
    lib/openai_stream.py (stdlib http.client, lib/http_pool.py)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from lib import openai_stream
    from lib.settings import OpenAISettings

    imports = []
    for _ in range(max(3, repeats)):
        script = "import time; t = time.process_time(); import openai; print(time.process_time() - t)"
        imports.append(float(subprocess.run([PYTHON, "-c", script], capture_output=True, text=True,
                                            check=True).stdout) * 1000)
    stand_in, base_url = start_stand_in(0.0)
    cfg = OpenAISettings("sk-bench", base_url, 20.0)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "bonjour"}], "stream": True,
            "stream_options": {"include_usage": True}}

    import httpx
    import openai

    shared = httpx.Client(timeout=cfg.timeout)
    sdk = openai.OpenAI(api_key=cfg.api_key, base_url=base_url, http_client=shared, max_retries=0)

    def through_sdk():
        with sdk.chat.completions.with_streaming_response.create(**body) as response:
            for _ in response.iter_lines():
                pass

    def through_httpx():
        with shared.stream("POST", base_url + "/chat/completions", json=body,
                           headers={"Authorization": "Bearer sk-bench"}) as response:
            for _ in response.iter_lines():
                pass

    def through_http_client():
        response = openai_stream.open_chat(cfg, body)
        for _ in openai_stream.chunks(response):
            pass
        response.close()

    ways = {"sdk": through_sdk, "httpx": through_httpx, "http.client": through_http_client}
    costs = {name: [] for name in ways}
    try:
        for way in ways.values():
            for _ in range(20):
                way()
        for _ in range(repeats):
            for name, way in ways.items():
                started = time.thread_time()
                for _ in range(requests):
                    way()
                costs[name].append((time.thread_time() - started) / requests * 1000)
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    return {"import_openai_cpu_ms": summary(imports, 1), "requests": requests,
            "stream_cpu_ms": {name: summary(values, 3) for name, values in costs.items()}, "json_us": json_costs()}


def json_costs() -> dict:
    """Microseconds per chunk read (loads) and per event written (dumps): stdlib json vs orjson."""
    import json
    import timeit

    import orjson

    chunk = json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                        "choices": [{"index": 0, "delta": {"content": "mot "}, "finish_reason": None}]}).encode()
    event = {"type": "delta", "text": "mot "}
    ways = {"json": (lambda: json.loads(chunk), lambda: json.dumps(event, ensure_ascii=False).encode()),
            "orjson": (lambda: orjson.loads(chunk), lambda: orjson.dumps(event))}
    return {name: {"loads": round(min(timeit.repeat(loads, number=20000, repeat=3)) / 20000 * 1e6, 2),
                   "dumps": round(min(timeit.repeat(dumps, number=20000, repeat=3)) / 20000 * 1e6, 2)}
            for name, (loads, dumps) in ways.items()}


def run(quick: bool) -> dict:
    """Every side-by-side measure."""
    pin_self()
    names = RELAYS if node_relay_dir() else RELAYS[:2]
    repeats, requests, seconds, cold_runs = (1, 30, 2.0, 3) if quick else (5, 200, 5.0, 11)
    stand_in, base_url = start_stand_in(0.0)
    try:
        cold = cold_streamed(cold_runs, base_url, names)
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    return {"pinned": bool(cores()[0]), "node": node_version(), "cold_streamed": cold,
            "sequential": sequential(names, repeats, requests),
            "concurrent": concurrent(names, repeats, 100, seconds),
            "saturation": saturation(names, repeats, 100, seconds / 2),
            "sdk_or_httpx": sdk_or_httpx(repeats, 50 if quick else 300)}
