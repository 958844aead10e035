"""Run every benchmark, print a table and write bench/results/latest.json (python -m bench.run [--quick]).

Absolute times are this machine's; the ratios and differences are what carry over.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


# --- helpers ---------------------------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def start_stand_in(chunk_delay: float = 0.0) -> tuple[subprocess.Popen, str]:
    """The OpenAI stand-in in its own process."""
    process = subprocess.Popen([PYTHON, "-m", "dev.fake_openai", "--port", "0", "--chunk-delay", str(chunk_delay)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return process, json.loads(process.stdout.readline())["base_url"]


def base_env(base_url: str) -> dict:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=base_url, ALLOW_ANONYMOUS="1",
               CHAT_RATE_LIMIT_PER_MINUTE="0", CHAT_DAILY_MESSAGE_LIMIT="0", REALTIME_KEY_RATE_LIMIT_PER_MINUTE="0")
    return env


def post(port: int, path: str, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=json.dumps(body).encode(),
                       headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def first_event(port: int, path: str, body: dict, marker: bytes) -> tuple[float, bool]:
    """Seconds from sending a streaming request to the first line starting with `marker`; and whether it ended well."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}
    if path.startswith("/v1/"):  # straight to the stand-in, which wants a key like OpenAI
        headers["Authorization"] = "Bearer sk-bench"
    connection.request("POST", path, body=json.dumps(body).encode(), headers=headers)
    response = connection.getresponse()
    first = None
    ok = response.status == 200
    for line in response:
        if first is None and line.startswith(marker):
            first = time.perf_counter() - started
    connection.close()
    return (first if first is not None else float("nan")), ok and first is not None


# --- cold start ------------------------------------------------------------------------------------------

COLD_VARIANTS = {
    "chat": [("function", "api/groupchat/chat.py"), ("floor-sdk", "chat"), ("floor-urllib", "chat")],
    "key": [("function", "api/realtime/key.py"), ("floor-sdk", "key"), ("floor-urllib", "key")],
}
ROUTES = {"chat": ("/api/groupchat/chat", {"message": "bonjour"}), "key": ("/api/realtime/key", {})}


def cold_once(kind: str, target: str, route: str, env: dict) -> tuple[float, list[str]]:
    path, body = ROUTES[route]
    started = time.perf_counter()
    child = subprocess.Popen([PYTHON, "-m", "bench.serve_once", kind, target], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(child.stdout.readline())
    status, _ = post(port, path, body)
    elapsed = time.perf_counter() - started
    _, stderr = child.communicate(timeout=30)
    if status != 200:
        raise RuntimeError(f"{kind} {target} answered {status}")
    modules = json.loads([line for line in stderr.splitlines() if '"modules"' in line][-1])["modules"]
    return elapsed, modules


def cold_start(runs: int, base_url: str) -> dict:
    env = base_env(base_url)
    times = {(route, kind): [] for route, variants in COLD_VARIANTS.items() for kind, _ in variants}
    modules = {}
    for _ in range(runs):  # interleaved, so drift on the machine touches every variant alike
        for route, variants in COLD_VARIANTS.items():
            for kind, target in variants:
                elapsed, imported = cold_once(kind, target, route, env)
                times[(route, kind)].append(elapsed)
                modules[(route, kind)] = imported
    result = {}
    for route in COLD_VARIANTS:
        median = {kind: statistics.median(times[(route, kind)]) * 1000 for kind, _ in COLD_VARIANTS[route]}
        result[route] = {
            "runs": runs, "median_ms": {k: round(v, 1) for k, v in median.items()},
            "ratio_to_sdk_floor": round(median["function"] / median["floor-sdk"], 3),
            "ratio_to_urllib_floor": round(median["function"] / median["floor-urllib"], 3),
            "imports_supabase": "supabase" in modules[(route, "function")],
        }
    return result


# --- warm overhead ---------------------------------------------------------------------------------------

SERVE_FUNCTION = """
import sys
sys.path.insert(0, {root!r})
from tests.helpers import LoopbackServer, load_handler
server = LoopbackServer(load_handler("groupchat/chat.py"))
print(server.port, flush=True)
sys.stdin.read()
"""


def start_function(env: dict) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([PYTHON, "-c", SERVE_FUNCTION.format(root=str(ROOT))], cwd=ROOT, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return process, int(process.stdout.readline())


def warm_overhead(requests: int, base_url: str) -> dict:
    stand_in_port = int(base_url.split(":")[2].split("/")[0])
    function, port = start_function(base_env(base_url))
    direct_body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "bonjour"}]}
    through, direct = [], []
    try:
        for _ in range(20):  # warm: imports and connection pools
            first_event(port, "/api/groupchat/chat", {"message": "bonjour", "stream": True}, b"event: delta")
        for _ in range(requests):
            through.append(first_event(port, "/api/groupchat/chat", {"message": "bonjour", "stream": True},
                                       b"event: delta")[0])
            direct.append(first_event(stand_in_port, "/v1/chat/completions", direct_body, b"data: ")[0])
    finally:
        function.stdin.close()
        function.wait(10)
    ms = lambda values, q: round(percentile(values, q) * 1000, 2)  # noqa: E731
    return {"requests": requests,
            "function_ttft_ms": {"p50": ms(through, 0.5), "p95": ms(through, 0.95)},
            "direct_ttft_ms": {"p50": ms(direct, 0.5), "p95": ms(direct, 0.95)},
            "overhead_ms": {"p50": round(ms(through, 0.5) - ms(direct, 0.5), 2),
                            "p95": round(ms(through, 0.95) - ms(direct, 0.95), 2)}}


# --- concurrency -----------------------------------------------------------------------------------------

WARM_UP_S, RAMP_S = 1.0, 0.6


def load(port: int, path: str, body: dict, marker: bytes, clients: int, seconds: float) -> tuple[list[float], int, int]:
    """Clients that each send streaming requests back to back until the time is up.

    They start spread over RAMP_S (people do not all press Enter in the same millisecond), and requests begun in
    the first WARM_UP_S are not counted in the TTFT figures; every error counts.
    """
    ttfts, errors, done = [], [0], [0]
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def client(number: int):
        time.sleep(RAMP_S * number / clients)
        while time.monotonic() < deadline:
            begun = time.monotonic()
            try:
                ttft, ok = first_event(port, path, body, marker)
            except Exception:  # noqa: BLE001 - counted as an error
                ttft, ok = float("nan"), False
            with lock:
                done[0] += 1
                if not ok:
                    errors[0] += 1
                elif begun - started >= WARM_UP_S:
                    ttfts.append(ttft)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ttfts, errors[0], done[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


REPLY_WORDS, TOKEN_GAP = 30, 0.02  # a streamed reply as users see one: 30 tokens, 20 ms apart (0.6 s)


def concurrency(clients: int, seconds: float) -> dict:
    """100 chats in flight at once, each streaming a realistic reply: TTFT through the function vs direct."""
    stand_in, base_url = start_stand_in(chunk_delay=TOKEN_GAP)
    message = " ".join(["mot"] * (REPLY_WORDS - 1))  # the stand-in echoes it: 30 tokens with "Echo:"
    try:
        through, errors, total, rss, cpu = _through_function(base_url, clients, seconds, message)
        direct, direct_errors, direct_total = _direct(base_url, clients, seconds, message)
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    ms = lambda values, q: round(percentile(values, q) * 1000, 1)  # noqa: E731
    return {"clients": clients, "seconds": seconds, "reply": f"{REPLY_WORDS} tokens, {TOKEN_GAP * 1000:.0f} ms apart",
            "requests": total, "errors": errors,
            "function_ttft_ms": {"p50": ms(through, 0.5), "p95": ms(through, 0.95)},
            "direct_ttft_ms": {"p50": ms(direct, 0.5), "p95": ms(direct, 0.95)},
            "added_ttft_p95_ms": round(ms(through, 0.95) - ms(direct, 0.95), 1),
            "peak_rss_mb": rss, "function_cpu": cpu, "direct_requests": direct_total, "direct_errors": direct_errors}


def saturation(clients: int, seconds: float, base_url: str) -> dict:
    """Throughput with instant replies and clients sending back to back: what one process can serve at most."""
    through, errors, total, _, _ = _through_function(base_url, clients, seconds, "bonjour")
    direct, _, direct_total = _direct(base_url, clients, seconds, "bonjour")
    return {"clients": clients, "seconds": seconds, "errors": errors,
            "function_requests_per_s": round(total / seconds), "direct_requests_per_s": round(direct_total / seconds)}


def _through_function(base_url: str, clients: int, seconds: float, message: str):
    function, port = start_function(base_env(base_url))
    try:
        for _ in range(5):
            first_event(port, "/api/groupchat/chat", {"message": "bonjour", "stream": True}, b"event: delta")
        cpu_before, wall_before = cpu_seconds(function.pid), time.monotonic()
        ttfts, errors, total = load(port, "/api/groupchat/chat", {"message": message, "stream": True},
                                    b"event: delta", clients, seconds)
        used = cpu_seconds(function.pid) - cpu_before
        cpu = {"cores_used": round(used / (time.monotonic() - wall_before), 2),
               "ms_per_request": round(used / max(1, total) * 1000, 2)}
        return ttfts, errors, total, peak_rss_mb(function.pid), cpu
    finally:
        function.stdin.close()
        function.wait(10)


def _direct(base_url: str, clients: int, seconds: float, message: str):
    port = int(base_url.split(":")[2].split("/")[0])
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": message}]}
    return load(port, "/v1/chat/completions", body, b"data: ", clients, seconds)


# --- the dashboard ---------------------------------------------------------------------------------------

def dashboard(loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    results = {}
    for name, extra in (("anonymous", {}), ("with Supabase sign-in", {"SUPABASE_URL": "http://127.0.0.1:9",
                                                                        "SUPABASE_ANON_KEY": "anon"})):
        env = {**base_env("http://127.0.0.1:9/v1"), "PORT": "0", **extra}
        server = subprocess.Popen([PYTHON, "-m", "dev.server", "--port", "0"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = server.stdout.readline().split()[-1].replace("localhost", "127.0.0.1") + "/"
        ready, transferred = [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(loads):
                    context = browser.new_context()  # a first visit: nothing cached
                    page = context.new_page()
                    page.goto(url)
                    page.locator("body[data-ready=true]").wait_for()
                    timing = page.evaluate("""() => ({
                        ready: performance.getEntriesByName('dashboard-ready')[0].startTime,
                        bytes: performance.getEntriesByType('navigation').concat(
                            performance.getEntriesByType('resource')).reduce((sum, e) => sum + e.transferSize, 0)})""")
                    ready.append(timing["ready"])
                    transferred.append(timing["bytes"])
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
        results[name] = {"loads": loads, "bytes": int(statistics.median(transferred)),
                         "ready_ms": {"p50": round(statistics.median(ready), 1),
                                      "max": round(max(ready), 1)}}
    return results


# --- report ----------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(int(memory) / 1024 / 1024, 1),
            "os": platform.platform(), "python": platform.python_version()}


def table(report: dict) -> str:
    cold, warm, conc, board = report["cold_start"], report["warm"], report["concurrency"], report["dashboard"]
    rows = [("measure", "result", "goal", "met")]
    for route in ("chat", "key"):
        c = cold[route]
        rows.append((f"cold start {route}: function / SDK floor / urllib floor (median of {c['runs']})",
                     f"{c['median_ms']['function']} / {c['median_ms']['floor-sdk']} / "
                     f"{c['median_ms']['floor-urllib']} ms", "", ""))
        rows.append((f"cold start {route}: ratio to SDK floor", f"{c['ratio_to_sdk_floor']}x", "<= 1.1x",
                     "yes" if c["ratio_to_sdk_floor"] <= 1.1 else "no"))
        rows.append((f"cold start {route}: ratio to urllib floor", f"{c['ratio_to_urllib_floor']}x", "", ""))
        rows.append((f"cold start {route}: imports supabase", "yes" if c["imports_supabase"] else "no", "no",
                     "no" if c["imports_supabase"] else "yes"))
    rows.append((f"warm TTFT overhead p50 ({warm['requests']} requests)", f"{warm['overhead_ms']['p50']} ms",
                 "<= 2 ms", "yes" if warm["overhead_ms"]["p50"] <= 2 else "no"))
    rows.append(("warm TTFT overhead p95", f"{warm['overhead_ms']['p95']} ms", "<= 5 ms",
                 "yes" if warm["overhead_ms"]["p95"] <= 5 else "no"))
    rows.append((f"{conc['clients']} chats streaming at once ({conc['reply']}), {conc['seconds']} s: errors",
                 f"{conc['errors']} of {conc['requests']}", "0", "yes" if conc["errors"] == 0 else "no"))
    rows.append(("  added TTFT p95 (function minus direct, same load)", f"{conc['added_ttft_p95_ms']} ms",
                 "<= 20 ms", "yes" if conc["added_ttft_p95_ms"] <= 20 else "no"))
    rows.append(("  peak RSS of the function process", f"{conc['peak_rss_mb']} MB", "<= 100 MB",
                 "yes" if conc["peak_rss_mb"] <= 100 else "no"))
    rows.append(("  function CPU: cores used / ms per streamed reply",
                 f"{conc['function_cpu']['cores_used']} / {conc['function_cpu']['ms_per_request']} ms", "", ""))
    sat = report["saturation"]
    rows.append((f"saturation: {sat['clients']} clients back to back, instant replies",
                 f"{sat['function_requests_per_s']} req/s (stand-in alone: {sat['direct_requests_per_s']})", "", ""))
    for name, values in board.items():
        rows.append((f"dashboard first load ({name}): bytes", f"{values['bytes']:,} B", "", ""))
        rows.append((f"dashboard first load ({name}): ready, p50 of {values['loads']}",
                     f"{values['ready_ms']['p50']} ms", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, to check the benchmark itself")
    args = parser.parse_args(argv)
    cold_runs, warm_requests, seconds, loads = (3, 50, 3.0, 2) if args.quick else (15, 500, 10.0, 10)
    stand_in, base_url = start_stand_in()
    try:
        report = {"machine": machine(), "command": "scripts/bench" + (" --quick" if args.quick else ""),
                  "cold_start": cold_start(cold_runs, base_url), "warm": warm_overhead(warm_requests, base_url),
                  "concurrency": concurrency(100, seconds), "saturation": saturation(100, seconds / 2, base_url),
                  "dashboard": dashboard(loads)}
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, Python {m['python']}")
    print("Absolute times are this machine's.\n")
    print(table(report))
    print(f"\nJSON: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
