"""Schemathesis against the dev server: over 1000 generated requests, each answered as public/openapi.json says.

No 5xx (OpenAI's stand-in is healthy), every status, content type, header and body as described, and nothing
invalid ever reaches the OpenAI stand-in.
"""

import json
import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from dev.fake_openai import FakeOpenAI
from lib.settings import REALTIME_VOICES
from tests.helpers import ROOT
from tests.openai_spec import assert_conforms



@schemathesis.serializer("application/sdp")
def sdp_as_text(ctx, value):
    """The call route's body is an SDP offer: generated text goes as it is (anything else as JSON)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


SCHEMA = schemathesis.openapi.from_path(ROOT / "public" / "openapi.json")
# (method, path, generation mode, examples): 1259 requests in all
PLAN = [
    ("POST", "/api/groupchat/chat", GenerationMode.POSITIVE, 250),
    ("POST", "/api/groupchat/chat", GenerationMode.NEGATIVE, 250),
    ("POST", "/api/realtime/key", GenerationMode.POSITIVE, 120),
    ("POST", "/api/realtime/key", GenerationMode.NEGATIVE, 120),
    ("GET", "/api/groupchat/chat", GenerationMode.POSITIVE, 80),
    ("GET", "/api/groupchat/chat", GenerationMode.NEGATIVE, 80),
    ("PATCH", "/api/groupchat/chat", GenerationMode.POSITIVE, 40),
    ("PATCH", "/api/groupchat/chat", GenerationMode.NEGATIVE, 40),
    ("DELETE", "/api/groupchat/chat", GenerationMode.POSITIVE, 60),
    ("DELETE", "/api/groupchat/chat", GenerationMode.NEGATIVE, 60),
    ("GET", "/api/config", GenerationMode.POSITIVE, 1),  # no inputs: one request says it all
    ("POST", "/api/groupchat/members", GenerationMode.POSITIVE, 40),
    ("POST", "/api/groupchat/members", GenerationMode.NEGATIVE, 40),
    ("GET", "/api/groupchat/members", GenerationMode.POSITIVE, 20),
    ("GET", "/api/groupchat/members", GenerationMode.NEGATIVE, 20),
    ("DELETE", "/api/groupchat/members", GenerationMode.POSITIVE, 30),
    ("DELETE", "/api/groupchat/members", GenerationMode.NEGATIVE, 30),
    ("PATCH", "/api/groupchat/members", GenerationMode.POSITIVE, 20),
    ("PATCH", "/api/groupchat/members", GenerationMode.NEGATIVE, 20),
    ("POST", "/api/realtime/call", GenerationMode.POSITIVE, 30),
    ("POST", "/api/realtime/call", GenerationMode.NEGATIVE, 30),
    ("DELETE", "/api/realtime/call", GenerationMode.POSITIVE, 30),
    ("DELETE", "/api/realtime/call", GenerationMode.NEGATIVE, 30),
    ("POST", "/api/realtime/transcript", GenerationMode.POSITIVE, 60),
    ("POST", "/api/realtime/transcript", GenerationMode.NEGATIVE, 60),
    ("GET", "/api/admin/audit", GenerationMode.POSITIVE, 10),  # anonymous callers: the admin routes' 404
    ("GET", "/api/admin/audit", GenerationMode.NEGATIVE, 10),
    ("GET", "/api/admin/usage", GenerationMode.POSITIVE, 10),
    ("GET", "/api/admin/usage", GenerationMode.NEGATIVE, 10),
    ("GET", "/api/me/data", GenerationMode.POSITIVE, 1),  # no inputs
    ("DELETE", "/api/me/data", GenerationMode.POSITIVE, 1),  # one valid body: {"confirm": "erase"}
    ("DELETE", "/api/me/data", GenerationMode.NEGATIVE, 15),
    ("GET", "/api/cron/retention", GenerationMode.POSITIVE, 1),  # no CRON_SECRET: 404
    ("POST", "/api/groupchat/feedback", GenerationMode.POSITIVE, 30),
    ("POST", "/api/groupchat/feedback", GenerationMode.NEGATIVE, 30),
    ("GET", "/api/groupchat/feedback", GenerationMode.POSITIVE, 10),
    ("GET", "/api/groupchat/feedback", GenerationMode.NEGATIVE, 10),
    ("GET", "/api/admin/feedback", GenerationMode.POSITIVE, 10),
    ("GET", "/api/admin/feedback", GenerationMode.NEGATIVE, 10),
]
assert sum(examples for *_, examples in PLAN) >= 1000


@pytest.fixture(scope="module")
def upstream():
    server = FakeOpenAI(chunk_delay=0).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def site(upstream):
    from dev.server import DevServer

    server = DevServer(("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def api(site, upstream, env, tmp_path):
    env.setenv("OPENAI_BASE_URL", upstream.base_url)
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "0")
    return site


def test_the_plan_covers_every_described_operation():
    described = {(method.upper(), path) for path, item in SCHEMA.raw_schema["paths"].items() for method in item}
    assert described == {(method, path) for method, path, *_ in PLAN}


@pytest.mark.parametrize("method, path, mode, examples", PLAN,
                         ids=[f"{m} {p} {g.value}" for m, p, g, _ in PLAN])
def test_generated_requests_get_described_answers(api, upstream, method, path, mode, examples):
    operation = SCHEMA[path][method]
    statuses = []
    before = len(upstream.requests)

    # Server settings narrow what the schema allows (models, voices, client instructions), so valid-looking
    # data may rightly get 422: positive_data_acceptance does not apply. Every other check does.
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call_and_validate(base_url=api, excluded_checks=[positive_data_acceptance], timeout=30)
        statuses.append(response.status_code)

    run()
    assert len(statuses) >= examples * 0.9, f"only {len(statuses)} requests were generated"
    assert not [status for status in statuses if status >= 500]
    for request in upstream.requests[before:]:
        assert_valid_upstream(request)


def assert_valid_upstream(request: dict) -> None:
    """What reaches OpenAI is always a request the API accepted as valid, and one OpenAI's spec accepts."""
    body = request["body"]
    schema = {"/v1/chat/completions": "CreateChatCompletionRequest",
              "/v1/realtime/client_secrets": "RealtimeCreateClientSecretRequest"}.get(request["path"])
    if schema:
        assert_conforms(schema, body)
    if request["path"] == "/v1/chat/completions":
        assert body["model"] == "gpt-5.5"
        user = body["messages"][-1]
        assert user["role"] == "user" and user["content"].strip() and len(user["content"]) <= 8000
        assert all(len(m["content"]) <= 4000 for m in body["messages"] if m["role"] == "system")
        assert body["max_completion_tokens"] == 4096
    elif request["path"] == "/v1/realtime/client_secrets":
        session = body["session"]
        assert session["type"] == "realtime" and session["model"] == "gpt-realtime-2"
        assert session["audio"]["output"]["voice"] in REALTIME_VOICES
        assert "instructions" not in session
        assert body["expires_after"] == {"anchor": "created_at", "seconds": 600}
    else:
        raise AssertionError(f"unexpected upstream call {request['path']}")
