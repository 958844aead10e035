"""Small named helpers the tests share: hosting a handler on loopback and calling it with http.client."""

from __future__ import annotations

import http.client
import importlib.util
import json
import threading
import types
import weakref
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANARY_KEY = "sk-canary-7f3a9b2c4d5e6f708192a3b4c5d6e7f8"


def load_handler(relative: str):
    """The `handler` class of api/<relative>, loaded by file path as Vercel does."""
    path = ROOT / "api" / relative
    spec = importlib.util.spec_from_file_location("api_under_test_" + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


class LoopbackServer(ThreadingHTTPServer):
    """A real handler class served on 127.0.0.1 from a background thread; it knows when no request is being handled."""

    daemon_threads = True
    request_queue_size = 128
    live: "weakref.WeakSet[LoopbackServer]" = weakref.WeakSet()

    def __init__(self, handler_class):
        self._handling, self._idle = 0, threading.Condition()
        server = self

        class Counted(handler_class):
            def _serve(self, method):
                with server._idle:
                    server._handling += 1
                try:
                    super()._serve(method)
                finally:
                    with server._idle:
                        server._handling -= 1
                        server._idle.notify_all()

        super().__init__(("127.0.0.1", 0), Counted)
        LoopbackServer.live.add(self)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def wait_idle(self, timeout: float = 60) -> None:
        """Return once every request begun has been handled to its end (log line written), e.g. a stream whose
        caller hung up; fail if one never ends."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._handling == 0, timeout), "a request never finished"


@dataclass
class Reply:
    """An HTTP response as the tests read it."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self):
        return json.loads(self.text)

    @property
    def error_code(self) -> str:
        return self.json()["error"]["code"]

    def events(self) -> list[dict]:
        """The SSE events, each the parsed `data:` of one `event:` block, checked against its `event:` line."""
        events = []
        for block in self.text.split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "data" in lines:
                data = json.loads(lines["data"])
                assert lines.get("event") == data["type"]
                events.append(data)
        return events


def call(port: int, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None,
         timeout: float = 30) -> Reply:
    """One request with http.client (not httpx, so respx never intercepts the test's own call)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=data, headers=all_headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)


def open_stream(port: int, path: str, body: dict, headers: dict | None = None):
    """Start a streaming request and return the live response, to read events as they arrive."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=json.dumps(body).encode(),
                       headers={"Content-Type": "application/json", **(headers or {})})
    return connection, connection.getresponse()


def read_event(response) -> dict:
    """Read the next SSE event from a live response."""
    data = None
    while True:
        line = response.readline().decode()
        if not line:
            raise EOFError("stream ended")
        if line.startswith("data: "):
            data = json.loads(line[len("data: "):])
        elif line == "\n" and data is not None:
            return data


def freeze_limit_clock(monkeypatch, at: float = 1_900_000_030.0) -> None:
    """Count limits on a clock that stands still mid-minute (memory, SQLite and Supabase counters: the server
    tells PostgreSQL its time), so a test's requests all fall in one window however slowly they run; servers the
    test starts in other processes follow FREEZE_LIMIT_CLOCK (see frozen_if_asked)."""
    clock = types.SimpleNamespace(time=lambda: at)
    for module in ("lib.limits", "lib.stores.sqlite", "lib.stores.supabase"):
        monkeypatch.setattr(f"{module}.time", clock)
    monkeypatch.setenv("FREEZE_LIMIT_CLOCK", repr(at))


def frozen_if_asked() -> None:
    """In a server process a test started: the test's frozen limit clock, if it froze one."""
    import os

    import pytest

    if os.environ.get("FREEZE_LIMIT_CLOCK"):
        freeze_limit_clock(pytest.MonkeyPatch(), float(os.environ["FREEZE_LIMIT_CLOCK"]))



def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate it signed for 127.0.0.1: (CA file, certificate file, key file)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def usage(**granted) -> x509.KeyUsage:
        flags = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
                 "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{flag: granted.get(flag, False) for flag in flags})

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("OpenAI stand-in")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef0123"  # the handlers' SUPABASE_JWT_SECRET where users sign in


class User:
    """A Supabase user of the chat: an id, and the Authorization header that proves it."""

    def __init__(self, backend):
        import time

        import jwt

        self.id = backend.new_user()
        claims = {"sub": self.id, "aud": "authenticated", "exp": int(time.time()) + 600}
        if backend.issuer:
            claims["iss"] = backend.issuer
        self.headers = {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}
