"""Fixtures: a clean environment with a canary key, the OpenAI stand-in, and the real handlers on loopback."""

from __future__ import annotations

import re

import pytest

from dev.fake_openai import FakeOpenAI
from lib import http_pool
from lib.limits import MemoryCounter
from tests.browser_fixtures import chromium  # noqa: F401 - one browser for the whole run, shared by every file
from tests.helpers import CANARY_KEY, LoopbackServer, load_handler

SETTINGS = re.compile(r"^(OPENAI_|CHAT_|REALTIME_|DASHBOARD_TOKEN|ALLOW_ANONYMOUS|ALLOWED_ORIGINS|SUPABASE_|HISTORY_"
                      r"|GROUPCHAT_URL|VERCEL$|GLOBAL_|AUTH_ALLOW_SIGNUP|BRAND_|AI_DISCLOSURE_|ADVICE_NOTICE_|DASHBOARD_"
                      r"|SSL_CERT_|(?i:(HTTPS?|ALL|NO)_PROXY$))")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    """Every test starts from no settings but a canary OpenAI key and anonymous access."""
    import os

    for name in list(os.environ):
        if SETTINGS.match(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.setenv("ALLOW_ANONYMOUS", "1")
    for limit in ("CHAT_RATE_LIMIT_PER_MINUTE", "CHAT_DAILY_MESSAGE_LIMIT", "REALTIME_KEY_RATE_LIMIT_PER_MINUTE",
                  "REALTIME_DAILY_SESSION_LIMIT", "GLOBAL_DAILY_MESSAGE_LIMIT", "GLOBAL_DAILY_TOKEN_LIMIT",
                  "GLOBAL_DAILY_VOICE_SESSION_LIMIT"):
        monkeypatch.setenv(limit, "0")  # off unless a test is about limits (tests/test_limits.py)
    monkeypatch.setattr("lib.upstream.RETRY_DELAY_SECONDS", 0.01)
    monkeypatch.setattr("lib.limits._memory", MemoryCounter())
    return monkeypatch


@pytest.fixture(autouse=True)
def requests_end_within_their_test():
    """No handler outlives its test: a late log line or write would land in the next test's records."""
    yield
    for server in list(LoopbackServer.live):
        server.wait_idle()


@pytest.fixture
def openai_mock(monkeypatch):
    """respx at OpenAI's own base URL, for the SDK's HTTP (our httpx client) and the streamed chat's; test files
    add their routes.

    The streamed chat speaks http.client (lib/http_pool.py), which respx cannot see: its one exchange is sent
    through httpx instead, so the same routes answer it. Everything above the exchange is the real code.
    """
    import respx

    with respx.mock(base_url="https://api.openai.com/v1", assert_all_called=False) as mock:
        monkeypatch.setattr("lib.http_pool.post", post_through_httpx)
        yield mock


class HttpxExchange:
    """An httpx response with lib.http_pool.Exchange's face: status_code, headers, blocks(), read(), close()."""

    def __init__(self, response):
        self._response, self.status_code, self.headers = response, response.status_code, response.headers

    def blocks(self):
        return self._response.iter_raw()

    def read(self) -> bytes:
        return self._response.read()

    def close(self) -> None:
        self._response.close()


def post_through_httpx(url: str, headers: dict, content: bytes, *, timeout: float, ca_file=None,
                       proxy=None) -> HttpxExchange:
    import httpx

    with httpx.Client(timeout=timeout) as client:
        request = client.build_request("POST", url, headers=headers, content=content)
        return HttpxExchange(client.send(request, stream=True))


@pytest.fixture
def fake_openai(env):
    """The loopback OpenAI stand-in, with OPENAI_BASE_URL pointing at it."""
    server = FakeOpenAI(chunk_delay=0.001, hang_seconds=3).start()
    env.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    if server.gate is not None:
        server.gate.set()
    server.shutdown()
    server.server_close()
    http_pool.close_idle()  # the streamed chat's kept-alive connections to it


def hosted(relative: str):
    """A function's real handler class on a loopback server, for as long as the fixture lives."""
    server = LoopbackServer(load_handler(relative))
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def chat_server():
    yield from hosted("groupchat/chat.py")


@pytest.fixture
def chat(chat_server):
    """The chat endpoint's port."""
    return chat_server.port


@pytest.fixture
def log_records():
    """The API's log records, collected without disturbing where they are written."""
    import logging

    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append
    logger = logging.getLogger("api")
    logger.addHandler(collector)
    yield records
    logger.removeHandler(collector)


@pytest.fixture(scope="session")
def config_server():
    yield from hosted("config.py")


@pytest.fixture(scope="session")
def key_server():
    yield from hosted("realtime/key.py")


@pytest.fixture
def key(key_server):
    """The realtime key endpoint's port."""
    return key_server.port


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL with Supabase's roles and the project's migrations, for the whole run."""
    from tests.standins.postgres import Postgres

    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgrest(postgres):
    """The real PostgREST over the real PostgreSQL, behind Supabase's /rest/v1 gateway (which can inject faults)."""
    from tests.standins.postgrest import SupabaseRest

    server = SupabaseRest(postgres).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "supabase"])
def store(request, tmp_path):
    """Each history store, behind the same interface."""
    if request.param == "sqlite":
        from lib.stores.sqlite import SqliteStore

        return SqliteStore(str(tmp_path / "history.sqlite3"))
    from lib.stores.supabase import SupabaseStore

    postgrest = request.getfixturevalue("postgrest")
    postgrest.faults.clear()
    return SupabaseStore(postgrest.url, postgrest.SERVICE_KEY, 5.0)


@pytest.fixture
def new_user(request, store):
    """Makes a fresh user id for the store under test; with Supabase, a user in auth.users (history references it)."""
    import uuid

    postgres = request.getfixturevalue("postgres") if type(store).__name__ == "SupabaseStore" else None

    def make() -> str:
        user_id = str(uuid.uuid4())
        if postgres is not None:
            postgres.add_user(user_id)
        return user_id

    return make


@pytest.fixture
def dev_server(fake_openai):
    """The dev server (public/ and every api/ function) on loopback, talking to the OpenAI stand-in."""
    import threading

    from dev.server import DevServer

    server = DevServer(("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()
