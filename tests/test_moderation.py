"""MODERATION=on: each new message checked by OpenAI's moderation endpoint (the stand-in) before the reply."""

import json

import pytest

from lib.usage import today
from tests.helpers import call

CHAT = "/api/groupchat/chat"
IBAN = "FR7630006000011234567890189"


def paths(fake_openai) -> list[str]:
    return [r["path"] for r in fake_openai.requests]


def test_off_by_default_no_moderation_call(fake_openai, chat):
    assert call(chat, "POST", CHAT, {"message": "Bonjour"}).status == 200
    assert paths(fake_openai) == ["/v1/chat/completions"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_message_not_flagged_is_checked_masked_then_answered(fake_openai, chat, env, stream):
    env.setenv("MODERATION", "on")
    reply = call(chat, "POST", CHAT, {"message": f"Mon IBAN {IBAN}", "stream": stream})
    assert reply.status == 200, reply.text
    assert paths(fake_openai) == ["/v1/moderations", "/v1/chat/completions"]
    checked = fake_openai.requests[0]
    assert checked["body"] == {"model": "omni-moderation-latest", "input": "Mon IBAN [IBAN_1]"}
    assert checked["headers"]["authorization"].startswith("Bearer sk-")


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("stream", [False, True])
def test_a_flagged_message_is_refused_unsent_unstored_and_counted(backend, fake_openai, chat, env, log_records,
                                                                  stream):
    env.setenv("MODERATION", "on")
    first = call(chat, "POST", CHAT, {"message": "Bonjour"}).json()
    secret = "je vais te nuire #flagged"
    reply = call(chat, "POST", CHAT, {"message": secret, "conversationId": first["conversationId"],
                                      "stream": stream})
    assert (reply.status, reply.error_code) == (422, "content_flagged")
    assert paths(fake_openai) == ["/v1/moderations", "/v1/chat/completions", "/v1/moderations"]
    stored = call(chat, "GET", f"{CHAT}?conversationId={first['conversationId']}").json()["messages"]
    assert [m["content"] for m in stored] == ["Bonjour", "Echo: Bonjour"]
    store = backend.store()
    [row] = store.usage(today().isoformat(), today().isoformat())
    assert (row["messages"], row["refusals"]) == (1, 1)
    [event] = store.audit_events(None, None, "content_flagged", 10)
    assert event["detail"] == {"categories": ["harassment"]}
    assert secret not in json.dumps(event) and secret not in "".join(r.getMessage() for r in log_records)
    lines = [json.loads(r.getMessage()) for r in log_records]
    assert any(line.get("event") == "content_flagged" and line["status"] == 422 for line in lines)


def test_a_failed_check_refuses_the_message_and_asks_no_reply(fake_openai, chat, env):
    env.setenv("MODERATION", "on")
    fake_openai.fail_next("500", "500")
    reply = call(chat, "POST", CHAT, {"message": "Bonjour"})
    assert (reply.status, reply.error_code) == (502, "upstream_error")
    assert paths(fake_openai) == ["/v1/moderations", "/v1/moderations"]


@pytest.mark.stores("sqlite")
def test_regenerate_asks_no_new_check(backend, fake_openai, chat, env):
    env.setenv("MODERATION", "on")
    first = call(chat, "POST", CHAT, {"message": "Bonjour"}).json()
    again = call(chat, "POST", CHAT, {"regenerate": True, "conversationId": first["conversationId"]})
    assert again.status == 200, again.text
    assert paths(fake_openai) == ["/v1/moderations", "/v1/chat/completions", "/v1/chat/completions"]
