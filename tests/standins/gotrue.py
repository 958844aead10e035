"""A Supabase Auth (GoTrue) stand-in: password sign-in and magic links for one known user, real HS256 tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import jwt


class GotrueHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "GotrueStandIn"

    def log_message(self, *args):
        pass

    def do_OPTIONS(self):
        self._reply(204, None)

    def do_GET(self):
        if urlsplit(self.path).path == "/auth/v1/user":
            return self._reply(200, self.server.user())
        self._reply(404, {"code": 404, "msg": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        path = urlsplit(self.path)
        self.server.requests.append((path.path, path.query, body))
        if path.path == "/auth/v1/token" and "grant_type=password" in path.query:
            if (body.get("email"), body.get("password")) == (self.server.email, self.server.password):
                return self._reply(200, self.server.session())
            return self._reply(400, {"code": 400, "error_code": "invalid_credentials",
                                     "msg": "Invalid login credentials"})
        if path.path == "/auth/v1/otp":
            return self._reply(200, {})
        if path.path == "/auth/v1/logout":
            return self._reply(204, None)
        self._reply(404, {"code": 404, "msg": "not found"})

    def _reply(self, status: int, payload):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class GotrueStandIn(ThreadingHTTPServer):
    """One user, `email`/`password`; access tokens signed with `secret` and naming this server as issuer."""

    daemon_threads = True
    request_queue_size = 128  # bursts of connections: socketserver's 5 drops them

    def __init__(self, secret: str, email: str = "analyste@example.com", password: str = "correct horse"):
        super().__init__(("127.0.0.1", 0), GotrueHandler)
        self.secret, self.email, self.password = secret, email, password
        self.user_id = str(uuid.uuid4())
        self.requests: list = []
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def user(self) -> dict:
        return {"id": self.user_id, "aud": "authenticated", "role": "authenticated", "email": self.email,
                "app_metadata": {"provider": "email"}, "user_metadata": {}, "created_at": "2026-11-25T00:00:00Z"}

    def session(self) -> dict:
        now = int(time.time())
        token = jwt.encode({"sub": self.user_id, "aud": "authenticated", "role": "authenticated", "email": self.email,
                            "iss": f"{self.url}/auth/v1", "iat": now, "exp": now + 3600}, self.secret, algorithm="HS256")
        return {"access_token": token, "token_type": "bearer", "expires_in": 3600, "expires_at": now + 3600,
                "refresh_token": "refresh-" + uuid.uuid4().hex, "user": self.user()}
