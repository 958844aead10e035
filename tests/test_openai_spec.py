"""What we send OpenAI, and what our stand-ins answer for it, conform to OpenAI's published OpenAPI description."""

import json
import re

import httpx
import pytest

from tests.helpers import call
from tests.openai_responses import client_secret, completion, error
from tests.openai_spec import SPEC_PATH, assert_conforms, problems, spec
from tests.test_realtime_call import ANSWER, OFFER, browser_like_offer, form_sent

REQUESTS = {  # our upstream path -> the spec's schema for its body
    "/v1/chat/completions": "CreateChatCompletionRequest",
    "/v1/realtime/client_secrets": "RealtimeCreateClientSecretRequest",
    "/v1/realtime/calls": "RealtimeCallCreateRequest",
    "/v1/moderations": "CreateModerationRequest",
}


def test_the_trimmed_spec_is_whole_and_names_its_source():
    document = json.loads(SPEC_PATH.read_text())
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/([^"]+)"', SPEC_PATH.read_text()))
    assert refs and all(name in document["components"][kind] for kind, name in refs)  # nothing cut that is used
    source = spec()["info"]["x-source"]
    assert source["repository"] == "https://github.com/openai/openai-openapi" and len(source["commit"]) == 40
    assert {"/chat/completions", "/realtime/client_secrets", "/realtime/calls",
            "/realtime/calls/{call_id}/hangup"} <= set(spec()["paths"])


def test_the_checker_can_fail():
    assert problems("CreateChatCompletionRequest", {"model": "gpt-5.5", "messages": [], "temperature": "hot"})
    assert problems("RealtimeCreateClientSecretRequest", {"session": {"type": "realtime", "audio": {"output": {"voice": 3}}}})


# --- the requests we send, seen by respx ----------------------------------------------------------------------

@pytest.fixture
def captured(openai_mock, env, tmp_path, call_relay):
    """respx answers every OpenAI call we make; the test reads back what was sent."""
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    openai_mock.post("/chat/completions").mock(return_value=completion())
    openai_mock.post("/realtime/client_secrets").mock(return_value=client_secret())
    openai_mock.post("/realtime/calls").mock(return_value=httpx.Response(
        201, text=ANSWER, headers={"Content-Type": "application/sdp", "Location": "/v1/realtime/calls/rtc_1"}))
    openai_mock.post("/realtime/calls/rtc_1/hangup").mock(return_value=httpx.Response(200))
    return openai_mock


@pytest.fixture(scope="module")
def call_relay():
    from tests.conftest import hosted

    yield from hosted("realtime/call.py")


def sent_body(request: httpx.Request):
    if request.headers["content-type"].startswith("multipart/form-data"):
        form = form_sent(request)
        return {"sdp": form["sdp"][1], "session": json.loads(form["session"][1])}
    return json.loads(request.content)


@pytest.mark.parametrize("settings", [{}, {"CHAT_REASONING_EFFORT": "low", "CHAT_SYSTEM_PROMPT": "Sois bref."}])
def test_chat_requests_conform(chat, captured, env, settings):
    for name, value in settings.items():
        env.setenv(name, value)
    assert call(chat, "POST", "/api/groupchat/chat", {"message": "Quel est le solde ?"}).status == 200
    assert_conforms("CreateChatCompletionRequest", sent_body(captured.calls.last.request))


@pytest.mark.parametrize("settings, body", [
    ({}, {}),
    ({"REALTIME_INSTRUCTIONS": "Réponds en français.", "REALTIME_ALLOWED_VOICES": "cedar,marin"}, {"voice": "cedar"}),
])
def test_client_secret_requests_conform(key, captured, env, settings, body):
    for name, value in settings.items():
        env.setenv(name, value)
    assert call(key, "POST", "/api/realtime/key", body).status == 200
    assert_conforms("RealtimeCreateClientSecretRequest", sent_body(captured.calls.last.request))


def test_call_requests_conform(captured, call_relay):
    reply = call(call_relay.port, "POST", "/api/realtime/call", raw=OFFER.encode(),
                 headers={"Content-Type": "application/sdp"})
    assert reply.status == 201
    assert_conforms("RealtimeCallCreateRequest", sent_body(captured.calls.last.request))
    assert call(call_relay.port, "DELETE", "/api/realtime/call?callId=rtc_1").status == 200
    assert captured.calls.last.request.url.path == "/v1/realtime/calls/rtc_1/hangup"
    assert "/realtime/calls/{call_id}/hangup" in spec()["paths"]


def test_our_canned_openai_answers_conform():
    assert_conforms("CreateChatCompletionResponse", completion().json())
    assert_conforms("RealtimeCreateClientSecretResponse", client_secret().json())
    assert_conforms("ErrorResponse", error(429, "rate_limit_exceeded").json())


# --- the loopback stand-in: what reaches it, and what it answers ----------------------------------------------

def test_requests_reaching_the_loopback_stand_in_conform(chat, key, fake_openai, env, tmp_path, call_relay):
    pytest.importorskip("aiortc")
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    env.setenv("MODERATION", "on")
    call(chat, "POST", "/api/groupchat/chat", {"message": "bonjour"})
    call(chat, "POST", "/api/groupchat/chat", {"message": "bonjour", "stream": True})
    call(key, "POST", "/api/realtime/key", {})
    call(call_relay.port, "POST", "/api/realtime/call", raw=browser_like_offer().encode(),
         headers={"Content-Type": "application/sdp"})
    seen = [request for request in fake_openai.requests if request["path"] in REQUESTS]
    assert sorted({request["path"] for request in seen}) == sorted(REQUESTS)
    for request in seen:
        assert_conforms(REQUESTS[request["path"]], request["body"])


@pytest.fixture
def standin(fake_openai):
    client = httpx.Client(base_url=fake_openai.base_url, headers={"Authorization": "Bearer sk-test"}, timeout=10)
    yield client
    client.close()


def test_the_stand_ins_completion_conforms(standin):
    answer = standin.post("/chat/completions", json={"model": "gpt-5.5", "messages": [{"role": "user", "content": "a"}]})
    assert_conforms("CreateChatCompletionResponse", answer.json())


def test_every_stand_in_stream_chunk_conforms(standin):
    body = {"model": "gpt-5.5", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "un deux trois"}]}
    with standin.stream("POST", "/chat/completions", json=body) as answer:
        chunks = [line[6:] for line in answer.iter_lines() if line.startswith("data: ")]
    assert chunks[-1] == "[DONE]" and len(chunks) > 4
    for chunk in chunks[:-1]:
        assert_conforms("CreateChatCompletionStreamResponse", json.loads(chunk))


def test_the_stand_ins_client_secret_conforms(standin):
    body = {"session": {"type": "realtime", "model": "gpt-realtime-2", "audio": {"output": {"voice": "marin"}}},
            "expires_after": {"anchor": "created_at", "seconds": 60}}
    assert_conforms("RealtimeCreateClientSecretResponse", standin.post("/realtime/client_secrets", json=body).json())


@pytest.mark.parametrize("text, flagged", [("bonjour", False), ("#flagged", True)])
def test_the_stand_ins_moderation_conforms(standin, text, flagged):
    answer = standin.post("/moderations", json={"model": "omni-moderation-latest", "input": text}).json()
    assert_conforms("CreateModerationResponse", answer)
    assert answer["results"][0]["flagged"] is flagged


@pytest.mark.parametrize("fault", ["rate_limit", "quota", "500", "401", "model_not_found"])
def test_the_stand_ins_errors_conform(standin, fake_openai, fault):
    fake_openai.fail_next(fault)
    answer = standin.post("/chat/completions", json={"model": "gpt-5.5", "messages": [{"role": "user", "content": "a"}]})
    assert answer.status_code >= 400
    assert_conforms("ErrorResponse", answer.json())
