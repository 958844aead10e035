"""The door to history: a request opens its store once, and a refusal before counting costs nothing, on every
route and each store."""

import pytest

from tests.helpers import call
from tests.test_chat_history import ALICE, BOB, history  # noqa: F401 - the fixture: Alice and Bob, each store
from tests.test_realtime_transcript import OFFER, report, servers, start_call, voice  # noqa: F401
from tests.test_rooms_api import members_server, room  # noqa: F401

CHAT = "/api/groupchat/chat"


@pytest.fixture
def opened(env):
    """Each time a request opens the store, the backend it opened; limits are counted in the store too."""
    from lib import stores

    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "1000")
    env.setenv("REALTIME_DAILY_SESSION_LIMIT", "1000")
    backends, real = [], stores.open_store

    def counting(cfg):
        backends.append(cfg.backend)
        return real(cfg)

    env.setattr(stores, "open_store", counting)
    return backends


def test_a_chat_turn_opens_the_store_once(history, chat, opened):  # noqa: F811
    first = call(chat, "POST", CHAT, {"message": "Bonjour"}, ALICE)
    assert first.json()["saved"] is True
    assert len(opened) == 1
    conversation = first.json()["conversationId"]
    again = call(chat, "POST", CHAT, {"message": "Et ensuite ?", "conversationId": conversation}, ALICE)
    assert again.json()["saved"] is True
    assert len(opened) == 2
    regenerated = call(chat, "POST", CHAT, {"regenerate": True, "conversationId": conversation}, ALICE)
    assert regenerated.json()["saved"] is True
    assert len(opened) == 3


def test_a_room_message_opens_the_store_once(room, opened):  # noqa: F811
    conversation = room.open("bob")
    before = len(opened)
    assert room.say("bob", "Je regarde", conversationId=conversation).json()["saved"] is True
    assert len(opened) == before + 1
    assert room.say("bob", "@assistant tu confirmes ?", conversationId=conversation).json()["saved"] is True
    assert len(opened) == before + 2


def test_a_transcript_opens_the_store_once(voice, opened):  # noqa: F811
    call_id, conversation = start_call(voice)
    before = len(opened)
    saved = report(voice, {"callId": call_id, "items": [{"role": "user", "text": "Mon solde ?"}]})
    assert saved.json() == {"conversationId": conversation, "saved": True, "kept": 1}
    assert len(opened) == before + 1


def test_a_refused_transcript_costs_nothing(voice, env):  # noqa: F811
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "1")
    bobs_call, _ = start_call(voice, BOB)
    item = {"role": "user", "text": "intrus"}
    for body in ({"callId": bobs_call, "items": [item]}, {"callId": "rtc_unknown", "items": [item]}):
        refused = report(voice, body)
        assert (refused.status, refused.error_code) == (404, "call_not_found")
    alices_call, _ = start_call(voice)
    _, bobs_conversation = start_call(voice, BOB)
    into_bobs = report(voice, {"callId": alices_call, "conversationId": bobs_conversation, "items": [item]})
    assert (into_bobs.status, into_bobs.error_code) == (404, "conversation_not_found")
    assert report(voice, {"callId": alices_call, "items": [{"role": "user", "text": "à moi"}]}).status == 200
    assert report(voice, {"callId": alices_call, "items": [{"role": "user", "text": "encore"}]}).status == 429


def test_a_refused_call_costs_nothing(voice, chat, env):  # noqa: F811
    env.setenv("REALTIME_DAILY_SESSION_LIMIT", "1")
    bobs = call(chat, "POST", CHAT, {"message": "Bonjour"}, BOB).json()["conversationId"]
    for _ in range(2):
        refused = call(voice[0], "POST", f"/api/realtime/call?conversationId={bobs}", raw=OFFER.encode(),
                       headers={"Content-Type": "application/sdp", **ALICE})
        assert (refused.status, refused.error_code) == (404, "conversation_not_found")
    start_call(voice)
    over = call(voice[0], "POST", "/api/realtime/call", raw=OFFER.encode(),
                headers={"Content-Type": "application/sdp", **ALICE})
    assert (over.status, over.error_code) == (429, "rate_limited")
