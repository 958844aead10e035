"""Fixtures: a clean environment with a canary key, the OpenAI stand-in, and the real handlers on loopback."""

from __future__ import annotations

import re
import time

import pytest

from dev.fake_openai import FakeOpenAI
from lib import http_pool
from lib.limits import MemoryCounter
from tests.browser_fixtures import chromium  # noqa: F401 - one browser for the whole run, shared by every file
from tests.helpers import CANARY_KEY, LoopbackServer, load_handler

SETTINGS = re.compile(r"^(OPENAI_|CHAT_|REALTIME_|DASHBOARD_TOKEN|ALLOW_ANONYMOUS|ALLOWED_ORIGINS|SUPABASE_|HISTORY_"
                      r"|GROUPCHAT_URL|VERCEL$|VERCEL_REGION$|GLOBAL_|AUTH_ALLOW_SIGNUP|BRAND_|AI_DISCLOSURE_|ADVICE_NOTICE_|DASHBOARD_"
                      r"|SSL_CERT_|ADMIN_|AUDIT_|CRON_SECRET$|USAGE_|MASK_IDENTIFIERS$|MODERATION$|(?i:(HTTPS?|ALL|NO)_PROXY$))")


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

    def blocks(self, tick: float | None = None):
        return self._response.iter_raw()  # respx's bodies are there at once: no tick passes without a piece

    def read(self, limit: int | None = None) -> bytes:
        return self._response.read()[:limit]

    def close(self) -> None:
        self._response.close()


def post_through_httpx(url: str, headers: dict, content: bytes, *, timeout: float, ca_file=None,
                       proxy=None, expired=None, whole=False) -> HttpxExchange:
    import httpx

    with httpx.Client(timeout=timeout) as client:
        request = client.build_request("POST", url, headers=headers, content=content)
        return HttpxExchange(client.send(request, stream=True))


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock():
    """Deadlines, heartbeats and the thinking status (lib/deadline.py) on a frozen clock: only a test moving it
    sees them, and no test waits on the wall clock for them."""
    from lib import deadline

    frozen = FrozenClock()
    deadline.set_clock(frozen)
    yield frozen
    deadline.set_clock(time.monotonic)


@pytest.fixture
def fake_openai(env):
    """The loopback OpenAI stand-in, with OPENAI_BASE_URL pointing at it."""
    server = FakeOpenAI(chunk_delay=0.001, hang_seconds=3).start()
    env.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    for held in (server.gate, server.thinking):
        if held is not None:
            held.set()
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


STORES = ("memory", "sqlite", "supabase")


def pytest_configure(config):
    config.addinivalue_line("markers", "stores(*kinds): the stores a test using `backend` runs on, among "
                                       "memory, sqlite and supabase (default: sqlite and supabase)")


def pytest_generate_tests(metafunc):
    """A test that uses `backend` (itself or through a fixture) runs once per store: the ones its closest
    `@pytest.mark.stores(...)` names, else SQLite and Supabase. The store is the test id: test_x[sqlite]."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        kinds = list(marker.args) if marker else ["sqlite", "supabase"]
        assert kinds and set(kinds) <= set(STORES), f"@pytest.mark.stores takes some of {STORES}, not {kinds}"
        metafunc.parametrize("backend", kinds, indirect=True, ids=kinds)


class Backend:
    """Where this test's handlers keep history and count limits: `kind` is "memory" (no store: limits counted in
    the instance's memory, history off), "sqlite" (HISTORY_DB) or "supabase" (the real PostgREST, `postgrest`)."""

    def __init__(self, kind: str, sqlite_path: str | None = None, postgrest=None):
        self.kind, self.sqlite_path, self.postgrest = kind, sqlite_path, postgrest
        self._store = None

    @property
    def postgres(self):
        """The PostgreSQL behind PostgREST on Supabase, else None."""
        return self.postgrest.postgres if self.postgrest else None

    @property
    def issuer(self) -> str | None:
        """The `iss` of this project's Supabase access tokens on Supabase, else None."""
        return f"{self.postgrest.url}/auth/v1" if self.postgrest else None

    def new_user(self) -> str:
        """A fresh user id; on Supabase, a user in auth.users (history rows reference it)."""
        import uuid

        user_id = str(uuid.uuid4())
        if self.postgres is not None:
            self.postgres.add_user(user_id)
        return user_id

    def store(self):
        """A store object on the history the handlers use (made once per test); None in memory."""
        if self._store is None and self.kind == "sqlite":
            from lib.stores.sqlite import SqliteStore

            self._store = SqliteStore(self.sqlite_path)
        elif self._store is None and self.kind == "supabase":
            from lib.stores.supabase import SupabaseStore

            self._store = SupabaseStore(self.postgrest.url, self.postgrest.SERVICE_KEY, 5.0)
        return self._store


@pytest.fixture
def backend(request, env, tmp_path) -> Backend:
    """Each store, set in the environment for the handlers under test (see pytest_generate_tests for which)."""
    if request.param == "sqlite":
        path = str(tmp_path / "history.sqlite3")
        env.setenv("HISTORY_DB", path)
        return Backend("sqlite", sqlite_path=path)
    if request.param == "supabase":
        postgrest = request.getfixturevalue("postgrest")
        postgrest.faults.clear()
        env.setenv("SUPABASE_URL", postgrest.url)
        env.setenv("SUPABASE_SERVICE_ROLE_KEY", postgrest.SERVICE_KEY)
        return Backend("supabase", postgrest=postgrest)
    return Backend("memory")


@pytest.fixture
def store(backend):
    """Each history store's object, for the store-level tests."""
    return backend.store()


@pytest.fixture
def new_user(backend):
    """Makes a fresh user id for the store under test (see Backend.new_user)."""
    return backend.new_user


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


@pytest.fixture
def users(backend, env, fake_openai):
    """History on in each store; two signed-in Supabase users, Alice and Bob (tests.helpers.User)."""
    from tests.helpers import JWT_SECRET, User

    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", JWT_SECRET)
    return User(backend), User(backend)
