"""The chat endpoint's request contract: what it accepts, what it refuses, and what it sends to OpenAI."""

import json

import pytest

from tests.helpers import call
from tests.openai_responses import completion

CHAT = "/api/groupchat/chat"


@pytest.fixture
def openai_mock(openai_mock):
    openai_mock.post("/chat/completions").mock(return_value=completion())
    return openai_mock


def sent(openai_mock) -> dict:
    return json.loads(openai_mock.calls.last.request.content)


def test_a_message_gets_the_assistant_reply(chat, openai_mock):
    reply = call(chat, "POST", CHAT, {"message": "Quel est le solde ?"})
    assert reply.status == 200
    body = reply.json()
    assert body["message"] == "Bonjour !"
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["usage"] == {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    assert len(body["conversationId"]) == 36
    assert sent(openai_mock) == {"model": "gpt-5.5", "messages": [{"role": "user", "content": "Quel est le solde ?"}],
                                 "max_completion_tokens": 4096}


def test_the_request_carries_the_server_key_as_bearer(chat, openai_mock):
    call(chat, "POST", CHAT, {"message": "hi"})
    assert openai_mock.calls.last.request.headers["Authorization"].startswith("Bearer sk-canary-")


def test_a_given_conversation_id_is_kept(chat, openai_mock):
    conversation = "2b1f8a53-3f6c-4d0a-9a8e-0f6f5c1d2e3f"
    assert call(chat, "POST", CHAT, {"message": "hi", "conversationId": conversation}).json()["conversationId"] == conversation


def test_the_system_prompt_is_the_first_message(chat, openai_mock):
    call(chat, "POST", CHAT, {"message": "hi", "systemPrompt": "Tu es analyste financier."})
    assert sent(openai_mock)["messages"] == [
        {"role": "system", "content": "Tu es analyste financier."}, {"role": "user", "content": "hi"}]


def test_the_server_default_system_prompt_applies_when_none_is_sent(chat, openai_mock, env):
    env.setenv("CHAT_SYSTEM_PROMPT", "Réponds en français.")
    call(chat, "POST", CHAT, {"message": "hi"})
    assert sent(openai_mock)["messages"][0] == {"role": "system", "content": "Réponds en français."}


def test_chat_model_setting_picks_the_model(chat, openai_mock, env):
    env.setenv("CHAT_MODEL", "gpt-4o-mini")
    call(chat, "POST", CHAT, {"message": "hi"})
    assert sent(openai_mock)["model"] == "gpt-4o-mini"


def test_a_reasoning_effort_setting_is_sent_and_no_temperature_ever(chat, openai_mock, env):
    env.setenv("CHAT_REASONING_EFFORT", "minimal")
    call(chat, "POST", CHAT, {"message": "hi"})
    assert sent(openai_mock)["reasoning_effort"] == "minimal"
    assert "temperature" not in sent(openai_mock)  # reasoning models refuse it


def test_an_allowed_model_may_be_chosen(chat, openai_mock, env):
    env.setenv("CHAT_ALLOWED_MODELS", "gpt-4o,gpt-4o-mini")
    assert call(chat, "POST", CHAT, {"message": "hi", "model": "gpt-4o-mini"}).status == 200
    assert sent(openai_mock)["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("body, field", [
    ({}, "message"),
    ({"message": ""}, "message"),
    ({"message": " \n\t "}, "message"),
    ({"message": 42}, "message"),
    ({"message": "x" * 8001}, "message"),
    ({"message": "hi", "systemPrompt": "s" * 4001}, "systemPrompt"),
    ({"message": "hi", "systemPrompt": ["no"]}, "systemPrompt"),
    ({"message": "hi", "conversationId": "not-a-uuid"}, "conversationId"),
    ({"message": "hi", "model": "gpt-4o-mini"}, "model"),
    ({"message": "hi", "stream": "yes"}, "stream"),
    ({"message": "hi", "temperature": 2}, "temperature"),
])
def test_invalid_fields_are_422_naming_the_field_and_never_reach_openai(chat, openai_mock, body, field):
    reply = call(chat, "POST", CHAT, body)
    assert reply.status == 422
    assert reply.json()["error"] == {"code": "validation_error", "field": field,
                                     "message": reply.json()["error"]["message"]}
    assert reply.json()["error"]["message"].startswith(f"{field}: ")
    assert not openai_mock.calls


def test_message_length_limit_follows_the_setting(chat, openai_mock, env):
    env.setenv("CHAT_MAX_MESSAGE_CHARS", "10")
    assert call(chat, "POST", CHAT, {"message": "x" * 11}).status == 422
    assert call(chat, "POST", CHAT, {"message": "x" * 10}).status == 200


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400(chat, openai_mock, raw):
    reply = call(chat, "POST", CHAT, raw=raw)
    assert reply.status == 400
    assert reply.error_code == "invalid_json"
    assert not openai_mock.calls


def test_a_body_over_64_kib_is_413_before_parsing(chat, openai_mock):
    reply = call(chat, "POST", CHAT, raw=b'{"message": "' + b"x" * (64 * 1024) + b'"}')
    assert reply.status == 413
    assert reply.error_code == "payload_too_large"
    assert not openai_mock.calls


@pytest.mark.parametrize("method", ["PUT"])
def test_other_methods_are_405_with_allow(chat, openai_mock, method):
    reply = call(chat, method, CHAT)
    assert reply.status == 405
    assert reply.headers["allow"] == "POST, GET, PATCH, DELETE, OPTIONS"
    assert reply.error_code == "method_not_allowed"


def test_missing_openai_key_is_503_naming_it(chat, openai_mock, env):
    env.delenv("OPENAI_API_KEY")
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert reply.status == 503
    assert reply.error_code == "openai_not_configured"
    assert "OPENAI_API_KEY" in reply.json()["error"]["message"]
    assert not openai_mock.calls


def test_a_broken_setting_is_a_500_naming_it(chat, openai_mock, env):
    env.setenv("CHAT_MAX_MESSAGE_CHARS", "lots")
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert reply.status == 500
    assert reply.json()["error"]["setting"] == "CHAT_MAX_MESSAGE_CHARS"


def test_a_malformed_request_line_gets_a_json_error(chat):
    import socket

    with socket.create_connection(("127.0.0.1", chat)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(4096), b"")).decode()
    assert answer.startswith("HTTP/1.0 400")
    assert "application/json" in answer
    assert '"code": "bad_http_request"' in answer
