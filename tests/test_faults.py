"""Every upstream fault, whole and streamed: its documented error, and a history left exactly as it was."""

import pytest

from tests.helpers import call

CHAT = "/api/groupchat/chat"

# fault(s) queued on the stand-in -> (status, code) for a whole reply; the stream's answer
FAULTS = {
    ("rate_limit",): (429, "upstream_rate_limited"),
    ("quota",): (503, "upstream_quota"),
    ("500", "500"): (502, "upstream_error"),
    ("503", "503"): (502, "upstream_error"),
    ("401",): (502, "upstream_auth"),
    ("403",): (502, "upstream_auth"),
    ("model_not_found",): (502, "upstream_model_unavailable"),
    ("hang",): (504, "upstream_timeout"),
    ("malformed",): (502, "upstream_bad_response"),
}
STREAM_ONLY = {  # faults that only exist once a stream has begun: an `error` event closes it
    ("cut",): "upstream_stream_interrupted",
    ("stream_error",): "upstream_stream_interrupted",
    ("malformed",): "upstream_bad_response",
}


@pytest.fixture
def remembered(chat, env, fake_openai, tmp_path):
    """History on (SQLite), one complete turn already stored; returns its conversation id."""
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    env.setenv("OPENAI_TIMEOUT_SECONDS", "1")
    return call(chat, "POST", CHAT, {"message": "avant la panne"}).json()["conversationId"]


def history_of(chat, conversation):
    return [(m["role"], m["content"], m["status"])
            for m in call(chat, "GET", f"{CHAT}?conversationId={conversation}").json()["messages"]]


BEFORE = [("user", "avant la panne", "complete"), ("assistant", "Echo: avant la panne", "complete")]


def named(faults) -> list[str]:
    return ["+".join(fault) for fault in faults]


@pytest.mark.parametrize("faults, expected", FAULTS.items(), ids=named(FAULTS))
def test_a_whole_reply_fault(chat, fake_openai, remembered, faults, expected):
    fake_openai.fail_next(*faults)
    reply = call(chat, "POST", CHAT, {"message": "pendant", "conversationId": remembered})
    assert (reply.status, reply.error_code) == expected
    assert reply.headers["content-type"] == "application/json"
    if expected[0] == 429:
        assert reply.headers["retry-after"] == "7"
    assert history_of(chat, remembered) == BEFORE


BEFORE_STREAM = {faults: expected for faults, expected in FAULTS.items() if faults != ("malformed",)}


@pytest.mark.parametrize("faults, expected", BEFORE_STREAM.items(), ids=named(BEFORE_STREAM))
def test_a_fault_before_the_stream_begins_is_a_plain_error(chat, fake_openai, remembered, faults, expected):
    fake_openai.fail_next(*faults)
    reply = call(chat, "POST", CHAT, {"message": "pendant", "conversationId": remembered, "stream": True})
    assert (reply.status, reply.error_code) == expected
    assert history_of(chat, remembered) == BEFORE


@pytest.mark.parametrize("faults, code", STREAM_ONLY.items(), ids=named(STREAM_ONLY))
def test_a_fault_inside_the_stream_ends_it_with_one_error_event(chat, fake_openai, remembered, faults, code):
    fake_openai.fail_next(*faults)
    reply = call(chat, "POST", CHAT, {"message": "un deux trois quatre cinq six", "conversationId": remembered,
                                      "stream": True})
    events = reply.events()
    assert reply.status == 200
    assert [event["type"] for event in events][-1] == "error"
    assert [event["type"] for event in events].count("error") == 1
    assert "done" not in [event["type"] for event in events]
    assert events[-1]["error"]["code"] == code
    assert history_of(chat, remembered) == BEFORE


def test_after_every_fault_the_next_turn_works_and_is_stored(chat, fake_openai, remembered):
    for faults in [*FAULTS, *STREAM_ONLY]:
        fake_openai.fail_next(*faults)
        call(chat, "POST", CHAT, {"message": "pendant", "conversationId": remembered, "stream": True})
        fake_openai.faults.clear()
    assert call(chat, "POST", CHAT, {"message": "après", "conversationId": remembered}).status == 200
    assert history_of(chat, remembered) == [*BEFORE, ("user", "après", "complete"),
                                           ("assistant", "Echo: après", "complete")]
