"""Run every benchmark, print a table and write bench/results/latest.json (python -m bench.run [--quick] [--only-cold]
[--only-peers]).

Absolute times are this machine's; the ratios and differences are what carry over.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
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
               CHAT_RATE_LIMIT_PER_MINUTE="0", CHAT_DAILY_MESSAGE_LIMIT="0", REALTIME_KEY_RATE_LIMIT_PER_MINUTE="0",
               GLOBAL_DAILY_MESSAGE_LIMIT="0", GLOBAL_DAILY_TOKEN_LIMIT="0")  # a run sends more than a day's ceiling
    return env


def post(port: int, path: str, body: dict | None, headers: dict | None = None,
         method: str = "POST") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=None if body is None else json.dumps(body).encode(),
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
    # history in Supabase: a signed-in user's first request, the conversation list (GET), read from PostgREST
    "supabase": [("function", "api/groupchat/chat.py"), ("floor-postgrest", "supabase"), ("floor-urllib", "supabase")],
}
ROUTES = {"chat": ("POST", "/api/groupchat/chat", {"message": "bonjour"}), "key": ("POST", "/api/realtime/key", {}),
          "supabase": ("GET", "/api/groupchat/chat", None)}


def cold_once(kind: str, target: str, route: str, env: dict, headers: dict | None = None) -> tuple[float, list[str]]:
    method, path, body = ROUTES[route]
    started = time.perf_counter()
    child = subprocess.Popen([PYTHON, "-m", "bench.serve_once", kind, target], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(child.stdout.readline())
    status, _ = post(port, path, body, headers, method)
    elapsed = time.perf_counter() - started
    _, stderr = child.communicate(timeout=30)
    if status != 200:
        raise RuntimeError(f"{kind} {target} answered {status}")
    modules = json.loads([line for line in stderr.splitlines() if '"modules"' in line][-1])["modules"]
    return elapsed, modules


@contextlib.contextmanager
def supabase_project():
    """A Supabase project on loopback as the tests start one (tests/standins: a PostgreSQL cluster with the migrations,
    the real PostgREST behind the /rest/v1 gateway), with a signed-in user who has 3 conversations: the settings
    and the request headers of a function whose history is there."""
    from tests.standins.postgres import Postgres
    from tests.standins.postgrest import JWT_SECRET, SupabaseRest, user_token

    postgres = Postgres().start()
    try:
        rest = SupabaseRest(postgres).start()
        try:
            user_id = str(uuid.uuid4())
            postgres.add_user(user_id)
            for n in range(3):
                seed = {"p_user_id": user_id, "p_conversation_id": str(uuid.uuid4()), "p_title": f"Budget {n}",
                        "p_messages": [{"role": role, "content": text, "status": "complete", "source": "text"}
                                       for role, text in (("user", "Quel budget ?"), ("assistant", "Voici."))]}
                urllib.request.urlopen(urllib.request.Request(
                    f"{rest.url}/rest/v1/rpc/record_messages", data=json.dumps(seed).encode(),
                    headers={"apikey": rest.SERVICE_KEY, "Authorization": f"Bearer {rest.SERVICE_KEY}",
                             "Content-Type": "application/json"}), timeout=30).close()
            token = user_token(user_id, iss=f"{rest.url}/auth/v1")
            yield {"env": {"SUPABASE_URL": rest.url, "SUPABASE_SERVICE_ROLE_KEY": rest.SERVICE_KEY,
                           "SUPABASE_JWT_SECRET": JWT_SECRET, "BENCH_USER_ID": user_id},
                   "headers": {"Authorization": f"Bearer {token}"}, "dsn": postgres.dsn,
                   "admin_dsn": postgres.dsn_as("supabase_admin"), "log": postgres.directory / "log",
                   "postgrest_url": f"http://127.0.0.1:{rest.postgrest.port}"}
        finally:
            rest.stop()
    finally:
        postgres.stop()


def cold_start(runs: int, base_url: str) -> dict:
    env = base_env(base_url)
    times = {(route, kind): [] for route, variants in COLD_VARIANTS.items() for kind, _ in variants}
    modules = {}
    with supabase_project() as supabase:
        for _ in range(runs):  # interleaved, so drift on the machine touches every variant alike
            for route, variants in COLD_VARIANTS.items():
                on_supabase = route == "supabase"
                for kind, target in variants:
                    elapsed, imported = cold_once(kind, target, route, {**env, **supabase["env"]} if on_supabase
                                                  else env, supabase["headers"] if on_supabase else None)
                    times[(route, kind)].append(elapsed)
                    modules[(route, kind)] = imported
    result = {}
    for route, variants in COLD_VARIANTS.items():
        median = {kind: statistics.median(times[(route, kind)]) * 1000 for kind, _ in variants}
        library_floor = variants[1][0]  # floor-sdk, or floor-postgrest for the Supabase-backed list
        result[route] = {
            "runs": runs, "median_ms": {k: round(v, 1) for k, v in median.items()},
            f"ratio_to_{library_floor.removeprefix('floor-')}_floor":
                round(median["function"] / median[library_floor], 3),
            "ratio_to_urllib_floor": round(median["function"] / median["floor-urllib"], 3),
            "imports_supabase": "supabase" in modules[(route, "function")],
            "imports_postgrest": "postgrest" in modules[(route, "function")],
        }
    return result


# --- the lock ------------------------------------------------------------------------------------------

MAIN_PACKAGES = ("openai", "httpx", "pydantic", "postgrest", "pyjwt", "orjson", "certifi")


def lock_versions() -> dict:
    """The runtime lock's pins (requirements.txt, what Vercel installs), and whether this Python has exactly them."""
    from importlib import metadata

    pins = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", (ROOT / "requirements.txt").read_text(), re.M))
    normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    installed = {normal(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = sorted(name for name, version in pins.items() if installed.get(normal(name)) != version)
    return {"file": "requirements.txt", "pins": pins, "installed_as_locked": not differ, "differ": differ}


def lock_line(lock: dict) -> str:
    main = ", ".join(f"{name} {lock['pins'][name]}" for name in MAIN_PACKAGES if name in lock["pins"])
    return (f"Lock ({lock['file']}, {len(lock['pins'])} packages): {main}; installed as locked: "
            + ("yes" if lock["installed_as_locked"] else f"NO ({', '.join(lock['differ'])})"))


# --- a warm function ------------------------------------------------------------------------------------

SERVE_FUNCTION = """
import sys
sys.path.insert(0, {root!r})
from tests.helpers import LoopbackServer, load_handler
server = LoopbackServer(load_handler("groupchat/chat.py"))
print(server.port, flush=True)
sys.stdin.read()
"""


# --- load ------------------------------------------------------------------------------------------------

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


def cold_rows(cold: dict) -> list[tuple]:
    rows = []
    for route in ("chat", "key"):
        c = cold[route]
        rows.append((f"cold start {route}: function / SDK floor / urllib floor (median of {c['runs']})",
                     f"{c['median_ms']['function']} / {c['median_ms']['floor-sdk']} / "
                     f"{c['median_ms']['floor-urllib']} ms", "", ""))
        rows.append((f"cold start {route}: ratio to SDK floor", f"{c['ratio_to_sdk_floor']}x", "<= 1.1x",
                     "yes" if c["ratio_to_sdk_floor"] <= 1.1 else "no"))
        rows.append((f"cold start {route}: imports supabase", "yes" if c["imports_supabase"] else "no", "no",
                     "no" if c["imports_supabase"] else "yes"))
    c = cold["supabase"]
    rows.append((f"cold start Supabase-backed list (GET, signed in): function / postgrest floor / urllib floor "
                 f"(median of {c['runs']})", f"{c['median_ms']['function']} / {c['median_ms']['floor-postgrest']} / "
                 f"{c['median_ms']['floor-urllib']} ms", "", ""))
    rows.append(("cold start Supabase-backed list: ratio to bare urllib floor", f"{c['ratio_to_urllib_floor']}x", "",
                 ""))
    rows.append(("cold start Supabase-backed list: ratio to postgrest floor", f"{c['ratio_to_postgrest_floor']}x",
                 "", ""))
    rows.append(("cold start Supabase-backed list: imports supabase / postgrest",
                 f"{'yes' if c['imports_supabase'] else 'no'} / {'yes' if c['imports_postgrest'] else 'no'}",
                 "no / no", "yes" if not c["imports_supabase"] and not c["imports_postgrest"] else "no"))
    return rows


def table(report: dict) -> str:
    cold, board, peers = report["cold_start"], report["dashboard"], report["peers"]
    rows = [("measure", "result", "goal", "met"), *cold_rows(cold)]
    seq, conc, sat, cs = peers["sequential"], peers["concurrent"], peers["saturation"], peers["cold_streamed"]
    fn = "function"
    goals = [
        ("cold start streamed chat: ratio to bare httpx floor", cs["ratio_function_to_floor"], "<= 1.5x",
         cs["ratio_function_to_floor"] <= 1.5, "x"),
        ("CPU per streamed reply at 100 streams: function / floor",
         round(conc[fn]["cpu_ms_per_reply"]["median"] / conc["floor"]["cpu_ms_per_reply"]["median"], 3), "<= 1x",
         conc[fn]["cpu_ms_per_reply"]["median"] <= conc["floor"]["cpu_ms_per_reply"]["median"], "x"),
        ("saturation: function / direct", sat[fn]["ratio_to_direct"]["median"], ">= 0.8x",
         sat[fn]["ratio_to_direct"]["median"] >= 0.8, "x"),
    ]
    if "node" in seq:
        goals.append(("added TTFT sequential p50: function - Node relay",
                      round(seq[fn]["added_p50_ms"]["median"] - seq["node"]["added_p50_ms"]["median"], 2), "<= 0 ms",
                      seq[fn]["added_p50_ms"]["median"] <= seq["node"]["added_p50_ms"]["median"], " ms"))
    goals += [
        ("added TTFT sequential p50 (function - direct)", seq[fn]["added_p50_ms"]["median"], "<= 2 ms",
         seq[fn]["added_p50_ms"]["median"] <= 2, " ms"),
        ("added TTFT sequential p95 (function - direct)", seq[fn]["added_p95_ms"]["median"], "<= 5 ms",
         seq[fn]["added_p95_ms"]["median"] <= 5, " ms"),
        (f"errors at 100 streams ({conc[fn]['requests']} replies)", conc[fn]["errors"], "0", conc[fn]["errors"] == 0, ""),
        ("added TTFT p95 at 100 streams (function - direct)", conc[fn]["added_ttft_p95_ms"]["median"], "<= 20 ms",
         conc[fn]["added_ttft_p95_ms"]["median"] <= 20, " ms"),
        ("peak RSS of the function at 100 streams", conc[fn]["peak_rss_mb"], "<= 100 MB",
         conc[fn]["peak_rss_mb"] <= 100, " MB"),
    ]
    for name, value, goal, met, unit in goals:
        rows.append((name, f"{value}{unit}", goal, "yes" if met else "no"))
    for name, values in board.items():
        rows.append((f"dashboard first load ({name}): bytes", f"{values['bytes']:,} B", "", ""))
        rows.append((f"dashboard first load ({name}): ready, p50 of {values['loads']}",
                     f"{values['ready_ms']['p50']} ms", "", ""))
    return _grid(rows) + "\n\n" + peers_table(peers)


def peers_table(peers: dict) -> str:
    """The streamed chat beside its peers: median (min-max) over the repeats."""
    seq, conc, sat, cs = peers["sequential"], peers["concurrent"], peers["saturation"], peers["cold_streamed"]
    names = [name for name in ("function", "node", "floor") if name in seq]
    title = {"function": "this project", "node": "Node relay (npm openai)", "floor": "bare Python + httpx",
             "direct": "direct"}
    cell = lambda s, unit="": f"{s['median']}{unit} ({s['min']}-{s['max']})"  # noqa: E731
    rows = [(f"per streamed reply (median (min-max) of {seq[names[0]]['ttft_p50_ms']['repeats']} repeats)",
             *[title[name] for name in names], "direct")]
    rows.append((f"added TTFT, sequential, p50 ({seq['requests']} each)",
                 *[cell(seq[n]["added_p50_ms"], " ms") for n in names], f"TTFT {cell(seq['direct']['ttft_p50_ms'], ' ms')}"))
    rows.append(("added TTFT, sequential, p95", *[cell(seq[n]["added_p95_ms"], " ms") for n in names],
                 f"TTFT {cell(seq['direct']['ttft_p95_ms'], ' ms')}"))
    rows.append((f"CPU per reply at {conc['clients']} streams ({conc['reply']})",
                 *[cell(conc[n]["cpu_ms_per_reply"], " ms") for n in names], ""))
    rows.append(("cores used by the relay at 100 streams", *[cell(conc[n]["cores_used"]) for n in names], ""))
    rows.append(("added TTFT p95 at 100 streams", *[cell(conc[n]["added_ttft_p95_ms"], " ms") for n in names],
                 f"TTFT {cell(conc['direct']['ttft_p95_ms'], ' ms')}"))
    rows.append(("errors at 100 streams", *[f"{conc[n]['errors']} of {conc[n]['requests']}" for n in names],
                 str(conc["direct"]["errors"])))
    rows.append(("peak RSS", *[f"{conc[n]['peak_rss_mb']} MB" for n in names], ""))
    rows.append((f"saturation, replies/s ({sat['clients']} clients, instant replies)",
                 *[cell(sat[n]["replies_per_s"]) for n in names], cell(sat["direct"]["replies_per_s"])))
    rows.append(("saturation, ratio to direct", *[cell(sat[n]["ratio_to_direct"], "x") for n in names], "1x"))
    rows.append((f"cold start, spawn -> first streamed reply (median (min-max) of {cs['function']['repeats']})",
                 *[cell(cs[n], " ms") for n in names], ""))
    why = peers["sdk_or_httpx"]
    cpu = why["stream_cpu_ms"]
    rows.append((f"open + read one streamed reply, CPU of the calling thread ({why['requests']} each): "
                 f"SDK / httpx / http.client (lib/openai_stream.py)",
                 " / ".join(cell(cpu[way], " ms") for way in ("sdk", "httpx", "http.client")), *[""] * len(names)))
    rows.append(("import openai, CPU in a fresh process", cell(why["import_openai_cpu_ms"], " ms"),
                 *[""] * len(names)))
    js = why["json_us"]
    rows.append(("JSON per chunk read / event written: stdlib json vs orjson",
                 f"{js['json']['loads']} / {js['json']['dumps']} us vs {js['orjson']['loads']} / "
                 f"{js['orjson']['dumps']} us", *[""] * len(names)))
    note = (f"Relays pinned to core 1, stand-in and load generator to core 0: {'yes' if peers['pinned'] else 'no'}."
            + (f" Node relay: {peers['node']}." if peers.get("node") else ""))
    return _grid(rows) + "\n" + note


def _grid(rows: list[tuple]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv=None):
    from bench import relays

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, to check the benchmark itself")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-peers", action="store_true", help="only the side-by-side streamed chat measures")
    only.add_argument("--only-cold", action="store_true", help="only the cold-start measures (chat, key, Supabase)")
    args = parser.parse_args(argv)
    cold_runs, loads = (3, 2) if args.quick else (15, 10)
    load_before = os.getloadavg()
    report = {"machine": machine(), "lock": lock_versions(), "command": "scripts/bench"
              + (" --quick" if args.quick else "") + (" --only-peers" if args.only_peers else "")
              + (" --only-cold" if args.only_cold else "")}
    if not args.only_peers:
        stand_in, base_url = start_stand_in()
        try:
            report["cold_start"] = cold_start(cold_runs, base_url)
        finally:
            stand_in.terminate()
            stand_in.wait(10)
    if not args.only_cold:
        report["peers"] = relays.run(args.quick)
    if not args.only_peers and not args.only_cold:
        report["dashboard"] = dashboard(loads)
    report["load_average"] = {"before": [round(x, 2) for x in load_before],
                              "after": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, Python {m['python']}")
    print(lock_line(report["lock"]))
    print(f"Load average (1, 5, 15 min) before: {report['load_average']['before']}, "
          f"after: {report['load_average']['after']}. Absolute times are this machine's.\n")
    if args.only_peers:
        print(peers_table(report["peers"]))
    elif args.only_cold:
        print(_grid([("measure", "result", "goal", "met"), *cold_rows(report["cold_start"])]))
    else:
        print(table(report))
    print(f"\nJSON: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
