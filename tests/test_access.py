"""Who may call the API: closed by default, bearer token, anonymous for local use, CORS by exact origin."""

import pytest

from tests.helpers import call
from tests.openai_responses import completion

CHAT = "/api/groupchat/chat"
TOKEN = "dashboard-token-canary-5b7c"


@pytest.fixture(autouse=True)
def openai_mock(openai_mock):
    openai_mock.post("/chat/completions").mock(return_value=completion())
    return openai_mock


def test_with_no_access_configured_the_api_is_closed(chat, env, openai_mock):
    env.delenv("ALLOW_ANONYMOUS")
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (503, "auth_not_configured")
    assert "DASHBOARD_TOKEN" in reply.json()["error"]["message"]
    assert not openai_mock.calls


@pytest.fixture
def token_only(env):
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("DASHBOARD_TOKEN", TOKEN)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer ", TOKEN])
def test_without_the_right_bearer_token_it_is_401(chat, token_only, openai_mock, authorization):
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Authorization": authorization} if authorization else {})
    assert (reply.status, reply.error_code) == (401, "unauthorized")
    assert TOKEN not in reply.text
    assert not openai_mock.calls


def test_the_right_bearer_token_gets_in(chat, token_only):
    assert call(chat, "POST", CHAT, {"message": "hi"}, {"Authorization": f"Bearer {TOKEN}"}).status == 200


def test_anonymous_access_lets_callers_without_credentials_in(chat):
    assert call(chat, "POST", CHAT, {"message": "hi"}).status == 200


def test_a_wrong_token_is_refused_even_when_anonymous_access_is_on(chat, env):
    env.setenv("DASHBOARD_TOKEN", TOKEN)
    assert call(chat, "POST", CHAT, {"message": "hi"}, {"Authorization": "Bearer nope"}).status == 401


def test_access_is_checked_before_the_body_is_read(chat, token_only, openai_mock):
    assert call(chat, "POST", CHAT, raw=b"x" * 70000).status == 401


def test_a_same_origin_browser_call_needs_no_cors(chat):
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Origin": f"http://127.0.0.1:{chat}"})
    assert reply.status == 200
    assert "access-control-allow-origin" not in reply.headers


def test_an_unknown_origin_is_refused_and_never_reflected(chat, openai_mock):
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Origin": "https://evil.example"})
    assert (reply.status, reply.error_code) == (403, "origin_not_allowed")
    assert "access-control-allow-origin" not in reply.headers
    assert not openai_mock.calls


def test_a_listed_origin_is_granted_exactly(chat, env):
    env.setenv("ALLOWED_ORIGINS", "https://dash.example.com, https://other.example")
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Origin": "https://dash.example.com"})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == "https://dash.example.com"
    assert reply.headers["vary"] == "Origin"


def test_a_wildcard_origin_setting_is_refused(chat, env):
    env.setenv("ALLOWED_ORIGINS", "*")
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Origin": "https://evil.example"})
    assert reply.status == 500
    assert reply.json()["error"]["setting"] == "ALLOWED_ORIGINS"


def test_preflight_is_answered_for_a_listed_origin(chat, env):
    env.setenv("ALLOWED_ORIGINS", "https://dash.example.com")
    reply = call(chat, "OPTIONS", CHAT, headers={"Origin": "https://dash.example.com",
                                                 "Access-Control-Request-Method": "POST"})
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "https://dash.example.com"
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert "Authorization" in reply.headers["access-control-allow-headers"]


def test_preflight_from_an_unknown_origin_is_403(chat):
    reply = call(chat, "OPTIONS", CHAT, headers={"Origin": "https://evil.example"})
    assert reply.status == 403
    assert "access-control-allow-origin" not in reply.headers
