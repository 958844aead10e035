"""OpenAI's failures, as the chat's caller sees them: distinct codes, the right status, one retry at most."""

import httpx
import pytest

from tests.helpers import call
from tests.openai_responses import completion, error, stream

CHAT = "/api/groupchat/chat"


def answer_with(openai_mock, *responses):
    route = openai_mock.post("/chat/completions")
    route.side_effect = list(responses)
    return route


def test_rate_limit_is_429_with_retry_after_passed_on(chat, openai_mock):
    route = answer_with(openai_mock, error(429, "rate_limit_exceeded", "requests", {"retry-after": "20"}))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (429, "upstream_rate_limited")
    assert reply.headers["retry-after"] == "20"
    assert route.call_count == 1  # a long Retry-After is the caller's to wait, not ours


def test_a_short_rate_limit_is_retried_once(chat, openai_mock):
    route = answer_with(openai_mock, error(429, "rate_limit_exceeded", headers={"retry-after-ms": "10"}), completion("ok"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert reply.status == 200 and reply.json()["message"] == "ok"
    assert route.call_count == 2


def test_retry_after_ms_is_rounded_up_to_seconds(chat, openai_mock):
    answer_with(openai_mock, *[error(429, "rate_limit_exceeded", headers={"retry-after-ms": "4500"})] * 2)
    assert call(chat, "POST", CHAT, {"message": "hi"}).headers["retry-after"] == "5"


def test_insufficient_quota_is_503_and_never_retried(chat, openai_mock):
    route = answer_with(openai_mock, error(429, "insufficient_quota", "insufficient_quota"), completion())
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (503, "upstream_quota")
    assert route.call_count == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_server_key_is_502_upstream_auth(chat, openai_mock, status):
    route = answer_with(openai_mock, error(status, "invalid_api_key"), completion())
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_auth")
    assert "OPENAI_API_KEY" in reply.json()["error"]["message"]
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_once_then_502(chat, openai_mock, status):
    route = answer_with(openai_mock, error(status, "server_error", "server_error"), error(status, "server_error"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_error")
    assert route.call_count == 2


def test_one_passing_server_error_is_absorbed_by_the_retry(chat, openai_mock):
    answer_with(openai_mock, error(503, "server_error"), completion("recovered"))
    assert call(chat, "POST", CHAT, {"message": "hi"}).json()["message"] == "recovered"


def test_a_timeout_is_504_and_not_retried(chat, openai_mock):
    route = answer_with(openai_mock, httpx.ReadTimeout("slow"), completion())
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (504, "upstream_timeout")
    assert route.call_count == 1


def test_an_unreachable_openai_is_502_after_one_retry(chat, openai_mock):
    route = answer_with(openai_mock, httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")
    assert route.call_count == 2


def test_an_unknown_model_is_502_naming_it(chat, openai_mock, env):
    env.setenv("CHAT_MODEL", "gpt-9")
    answer_with(openai_mock, error(404, "model_not_found"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_model_unavailable")
    assert "gpt-9" in reply.json()["error"]["message"]


def test_a_request_openai_rejects_is_502_with_its_code(chat, openai_mock):
    answer_with(openai_mock, error(400, "context_length_exceeded"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_rejected")
    assert reply.json()["error"]["upstreamCode"] == "context_length_exceeded"


@pytest.mark.parametrize("answer", [
    httpx.Response(200, text="{not json", headers={"content-type": "application/json"}),
    httpx.Response(200, text="<html>maintenance</html>", headers={"content-type": "text/html"}),
    httpx.Response(200, json={"id": "x", "choices": []}),
])
def test_an_unreadable_answer_is_502_bad_response(chat, openai_mock, answer):
    answer_with(openai_mock, answer)
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_bad_response")


# The streamed chat talks to OpenAI without the SDK (lib/openai_stream.py): it must fail exactly as the whole reply.
FAILURES = {
    "long rate limit": (lambda: [error(429, "rate_limit_exceeded", headers={"retry-after": "20"})],
                        429, "upstream_rate_limited", 1, "20"),
    "rate limit in ms": (lambda: [error(429, "rate_limit_exceeded", headers={"retry-after-ms": "4500"})] * 2,
                         429, "upstream_rate_limited", 1, "5"),
    "insufficient quota": (lambda: [error(429, "insufficient_quota", "insufficient_quota")] * 2,
                           503, "upstream_quota", 1, None),
    "refused key": (lambda: [error(401, "invalid_api_key")] * 2, 502, "upstream_auth", 1, None),
    "forbidden": (lambda: [error(403, "unsupported_country_region_territory")] * 2, 502, "upstream_auth", 1, None),
    "server errors": (lambda: [error(503, "server_error"), error(500, "server_error")], 502, "upstream_error", 2, None),
    "html server error": (lambda: [httpx.Response(502, text="<html>bad gateway</html>")] * 2,
                          502, "upstream_error", 2, None),
    "timeout": (lambda: [httpx.ReadTimeout("slow")] * 2, 504, "upstream_timeout", 1, None),
    "request timeout": (lambda: [error(408, "timeout")] * 2, 504, "upstream_timeout", 1, None),
    "unreachable": (lambda: [httpx.ConnectError("refused")] * 2, 502, "upstream_unreachable", 2, None),
    "proxy refused": (lambda: [httpx.Response(407, text="Proxy Authentication Required")] * 2,
                      502, "upstream_unreachable", 2, None),
    "unknown model": (lambda: [error(404, "model_not_found")] * 2, 502, "upstream_model_unavailable", 1, None),
    "rejected": (lambda: [error(400, "context_length_exceeded")] * 2, 502, "upstream_rejected", 1, None),
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("answers, status, code, calls, retry_after", FAILURES.values(), ids=FAILURES.keys())
def test_a_streamed_request_fails_exactly_as_a_whole_one(chat, openai_mock, stream, answers, status, code, calls,
                                                         retry_after):
    route = answer_with(openai_mock, *answers())
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": stream})
    assert (reply.status, reply.error_code) == (status, code)
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers.get("retry-after") == retry_after
    assert route.call_count == calls
    if code == "upstream_rejected":
        assert reply.json()["error"]["upstreamCode"] == "context_length_exceeded"


@pytest.mark.parametrize("first", [error(503, "server_error"), error(429, "rate_limit_exceeded",
                                                                        headers={"retry-after-ms": "10"}),
                                   httpx.ConnectError("refused")], ids=["server error", "short rate limit", "refused"])
def test_one_passing_failure_before_a_stream_is_absorbed_by_the_retry(chat, openai_mock, first):
    route = answer_with(openai_mock, first, stream("Bon", "jour"))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Bonjour"
    assert route.call_count == 2


def test_a_whole_answer_to_a_streamed_request_is_502_bad_response_not_cut_off(chat, openai_mock):
    route = answer_with(openai_mock, completion("Bonjour"), completion("Bonjour"))
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_bad_response")
    assert reply.headers["content-type"] == "application/json"
    assert route.call_count == 1
