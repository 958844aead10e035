"""Local dev server: serves public/ and hands /api/... requests to the api/*.py `handler` classes, as Vercel does."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import io
import ipaddress
import json
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "public"
API = ROOT / "api"
READ_TIMEOUT_SECONDS = 20.0  # a connection that sends nothing for this long is closed (slowloris)


def vercel_headers() -> dict[str, str]:
    """The headers vercel.json sets on every response; connect-src also names the endpoints configured here."""
    config = json.loads((ROOT / "vercel.json").read_text())
    headers = {item["key"]: item["value"] for rule in config.get("headers", []) if rule["source"] == "/(.*)"
               for item in rule["headers"]}
    extra = {_origin(os.environ.get(name, "")) for name in ("SUPABASE_URL",)} - {""}
    policy = headers.get("Content-Security-Policy", "")
    for origin in sorted(extra):
        if origin not in policy:
            policy = policy.replace("connect-src 'self'", f"connect-src 'self' {origin}")
    if policy:
        headers["Content-Security-Policy"] = policy
    return headers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def load_dotenv(path: Path) -> None:
    """Copy KEY=VALUE lines of a .env file into os.environ, never overriding what is already set."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)


def allowed_hosts(setting: str | None) -> tuple[str, ...]:
    """DEV_ALLOWED_HOSTS: comma-separated host names (".example.test" also allows its subdomains)."""
    return tuple(name.strip().lower().rstrip(".") if not name.strip().startswith(".") else name.strip().lower()
                 for name in (setting or "").split(",") if name.strip())


def host_is_allowed(host_header: str | None, configured: tuple[str, ...]) -> bool:
    """Whether a request's Host names this machine: a loopback name, an IP address, or a configured name.

    A page on another site reaching the dev server through DNS rebinding sends its own host name, so refusing
    unknown names keeps other sites away from the developer's OPENAI_API_KEY and history.
    """
    if not host_header:
        return True  # HTTP/1.0 without Host: not a browser
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":")[0]
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
        return True  # an address cannot be rebound
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return any(host == name or (name.startswith(".") and (host.endswith(name) or host == name[1:]))
               for name in configured)


class Functions:
    """api/<path>.py (or api/<path>/index.py) for /api/<path>, each module loaded once, like a warm instance."""

    def __init__(self, api_dir: Path = API):
        self.api_dir = api_dir.resolve()
        self._modules: dict[Path, type] = {}
        self._lock = threading.Lock()

    def lookup(self, url_path: str):
        """The handler class serving url_path, or None."""
        path = unquote(urlsplit(url_path).path)
        if not path.startswith("/api/") or "\0" in path:
            return None
        rest = path[len("/api/"):].strip("/")
        for candidate in (self.api_dir / f"{rest}.py", self.api_dir / rest / "index.py"):
            try:
                file = candidate.resolve()
                found = file.is_file()
            except (OSError, ValueError):  # a name too long for the file system, say
                return None
            if found and self.api_dir in file.parents and not file.name.startswith("_"):
                return self._load(file)
        return None

    def _load(self, file: Path):
        with self._lock:
            if file not in self._modules:
                name = "api_" + "_".join(file.relative_to(self.api_dir).with_suffix("").parts)
                spec = importlib.util.spec_from_file_location(name, file)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self._modules[file] = module.handler
            return self._modules[file]


class StaticHandler(SimpleHTTPRequestHandler):
    """public/ as Vercel serves it: files only, JSON 404 for unknown /api paths, no directory listings."""

    disable_nagle_algorithm = True
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(PUBLIC), **kwargs)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if urlsplit(self.path).path.startswith("/api/"):
            return self._json_404()
        super().do_GET()

    def do_POST(self):
        self._json_404() if urlsplit(self.path).path.startswith("/api/") else self.send_error(405)

    def list_directory(self, path):
        self.send_error(404)

    def _json_404(self):
        body = json.dumps({"error": {"code": "not_found", "message": "No such API route."}}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Replay(io.RawIOBase):
    """The request line already read, then the rest of the connection."""

    def __init__(self, prefix: bytes, rest):
        self._prefix, self._rest = prefix, rest

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size], self._prefix = self._prefix[:size], self._prefix[size:]
            return size
        data = self._rest.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class DevServer(ThreadingHTTPServer):
    """Reads each request line, then lets the matching handler class serve the connection itself."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops bursts of connections (SYN retried after 1 s)

    def __init__(self, address, functions: Functions | None = None, read_timeout: float = READ_TIMEOUT_SECONDS):
        super().__init__(address, StaticHandler)
        self.functions = functions or Functions()
        self.site_headers = vercel_headers()
        self.read_timeout = read_timeout
        self.allowed_hosts = allowed_hosts(os.environ.get("DEV_ALLOWED_HOSTS"))

    def finish_request(self, request, client_address):
        request.settimeout(self.read_timeout)  # also bounds each header and body read: no half-sent request
        rfile = request.makefile("rb")        # holds a thread for ever
        try:
            first_line = rfile.readline(65537)
        except (TimeoutError, ConnectionError):
            return
        parts = first_line.split()
        handler_class = StaticHandler
        if len(parts) >= 2:
            handler_class = self.functions.lookup(parts[1].decode("latin-1")) or StaticHandler
        replay = io.BufferedReader(_Replay(first_line, rfile))
        site_headers, configured_hosts = self.site_headers, self.allowed_hosts

        class Bound(handler_class):
            def setup(self):
                super().setup()
                self.rfile = replay
                self._sent_names = set()

            def send_header(self, keyword, value):
                self._sent_names.add(keyword.lower())
                super().send_header(keyword, value)

            def parse_request(self):
                if not super().parse_request():
                    return False
                if "\0" in unquote(urlsplit(self.path).path):
                    return self._refuse(400, "bad_http_request", "The path holds a NUL byte.")
                if not host_is_allowed(self.headers.get("Host"), configured_hosts):
                    return self._refuse(403, "host_not_allowed", "This dev server answers only to its own host "
                                        "names (localhost, an IP address, or one listed in DEV_ALLOWED_HOSTS).")
                return True

            def _refuse(self, status: int, code: str, message: str) -> bool:
                body = json.dumps({"error": {"code": code, "message": message}}).encode()
                self.close_connection = True
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return False

            def end_headers(self):  # what Vercel's edge adds from vercel.json
                for name, value in site_headers.items():
                    if name.lower() not in self._sent_names:
                        super().send_header(name, value)
                super().end_headers()

        Bound(request, client_address, self)


def start_offline_openai():
    """The built-in OpenAI stand-in, for running with no OpenAI account."""
    from dev.fake_openai import FakeOpenAI

    fake = FakeOpenAI(chunk_delay=0.03).start()
    os.environ["OPENAI_API_KEY"] = "sk-offline-standin"
    os.environ["OPENAI_BASE_URL"] = fake.base_url
    return fake


def settings_problem() -> str | None:
    """The page's `misconfigured` sentence naming the refused setting and why, or None when every setting is usable."""
    from lib.settings import check

    error = check()
    return error and f"The service is misconfigured: {error.message} (the page says so to everyone until it is fixed)"


def build_parser() -> argparse.ArgumentParser:
    """The command line, every option explained (`scripts/dev --help`)."""
    parser = argparse.ArgumentParser(
        prog="scripts/dev", description=__doc__,
        epilog="Settings come from the environment, then from .env (copy .env.example). With no OPENAI_API_KEY, "
               "replies come from a built-in offline stand-in. DEV_ALLOWED_HOSTS: extra host names this server "
               "answers to (comma-separated; localhost, *.localhost and IP addresses always work).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 opens it to "
                             "the network)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to listen on (default: PORT from the environment or .env, else 3000; 0 picks "
                             "a free one)")
    return parser


def options(argv=None, env_file: Path = ROOT / ".env") -> argparse.Namespace:
    """The parsed command line, after .env has filled the environment (so PORT there is the default port)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    load_dotenv(env_file)
    if args.port is None:
        try:
            args.port = int(os.environ.get("PORT") or 3000)
        except ValueError:
            parser.error(f"PORT must be a port number, not {os.environ['PORT']!r}.")
    return args


# .env.example's two LOCAL ONLY people (lib/settings.py refuses their tokens on Vercel)
LOCAL_PEOPLE = "Camille:local-only-camille-0001,Conseiller:local-only-conseiller-0002"


def main(argv=None):
    args = options(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("ALLOW_ANONYMOUS", "1")
    os.environ.setdefault("HISTORY_DB", str(ROOT / "data" / "history.sqlite3"))
    local_people = not any(os.environ.get(name) for name in ("DASHBOARD_TOKENS", "DASHBOARD_TOKEN", "SUPABASE_URL"))
    if local_people:  # two people who can sign in, so that a room can be tried on this machine
        os.environ["DASHBOARD_TOKENS"] = LOCAL_PEOPLE
    offline = not os.environ.get("OPENAI_API_KEY") and start_offline_openai()  # before vercel_headers() reads it
    try:
        server = DevServer((args.host, args.port))
    except OSError as exc:
        reason = {errno.EADDRINUSE: "is already in use (another dev server?); stop it or pick another with --port",
                  errno.EACCES: "needs more privileges; pick one above 1023 with --port"}.get(
            exc.errno, f"cannot be used ({exc.strerror or exc})")
        print(f"Cannot start the dev server: port {args.port} on {args.host} {reason}.", file=sys.stderr)
        sys.exit(1)
    refused = settings_problem()
    if refused:  # said first, before the address, so that it is not missed
        print(refused, file=sys.stderr, flush=True)
    print(f"Dev server on http://{'localhost' if args.host == '127.0.0.1' else args.host}:{server.server_port}", flush=True)
    if offline:
        print("No OPENAI_API_KEY: replies come from the built-in offline stand-in (it echoes).", flush=True)
    if os.environ.get("DASHBOARD_TOKENS") == LOCAL_PEOPLE:
        print("To try a room, sign in with the token local-only-camille-0001 (Camille), and in a private window with "
              "local-only-conseiller-0002 (Conseiller).", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
