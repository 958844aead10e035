"""The assistant's reply in a room is seen by all as it grows: the question at once, the reply stored while written
(status "writing"), carried on when the asker hangs up, stopped by the asker or the owner (issue 22). No timing:
the OpenAI stand-in holds the stream after its first words (its gate) while the test looks."""

import threading

import pytest

from tests.helpers import call, open_stream, read_event
from tests.test_rooms_api import CHAT, members_server, room  # noqa: F401

QUESTION = "@IA " + " ".join(f"mot{n}" for n in range(300))  # a long reply: many chunks after the held first one


@pytest.fixture
def held(fake_openai):
    """The stand-in holds each stream after its first chunk until the test releases it."""
    fake_openai.gate = threading.Event()
    yield fake_openai.gate
    fake_openai.gate.set()
    fake_openai.gate = None


def ask(room, who: str, conversation: str, message: str = QUESTION):
    """`who` asks the room in a stream held after its first words; (connection, response), that first delta read."""
    connection, response = open_stream(room.chat, CHAT, {"message": message, "stream": True,
                                                         "conversationId": conversation}, room.headers[who])
    assert read_event(response) == {"type": "delta", "text": "Echo: "}
    return connection, response


def rest_of(response) -> list[dict]:
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(read_event(response))
    return events


def shown(room, who: str, conversation: str, after: int | None = None) -> list[tuple]:
    reply = room.read(who, conversation, after)
    assert reply.status == 200, reply.text
    return [(m["role"], m["author"]["name"], m["content"], m["status"]) for m in reply.json()["messages"]]


def test_the_update_pace_is_a_constant_of_half_a_second():
    from lib.turns import WRITING_UPDATE_SECONDS

    assert WRITING_UPDATE_SECONDS == 0.5


def test_every_member_sees_the_question_at_once_and_the_reply_as_it_grows(room, held):
    conversation = room.start("bob", "carol")
    connection, response = ask(room, "bob", conversation)
    try:
        # the first words reached the asker only once stored: the others see them too, marked "writing"
        assert shown(room, "carol", conversation) == [("user", "Bob", QUESTION, "complete"),
                                                      ("assistant", "Assistant", "Echo: ", "writing")]
        writing = room.read("alice", conversation).json()["messages"][-1]["id"]
        held.set()
        events = rest_of(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "done" and events[-1]["saved"] is True and events[-1]["finishReason"] == "stop"
    assert "Echo: " + "".join(e["text"] for e in events if e["type"] == "delta") == events[-1]["message"]
    # the page polls from the writing message's id - 1 and replaces messages by id
    assert [(m["id"], m["content"], m["status"]) for m in room.read("carol", conversation, writing - 1).json()[
        "messages"]] == [(writing, f"Echo: {QUESTION}", "complete")]


def test_a_whole_reply_in_a_room_also_stores_the_question_first(room, fake_openai):
    conversation = room.start("bob")
    assert room.say("bob", "@IA bonjour", conversationId=conversation).json()["message"] == "Echo: @IA bonjour"
    assert shown(room, "alice", conversation) == [("user", "Bob", "@IA bonjour", "complete"),
                                                  ("assistant", "Assistant", "Echo: @IA bonjour", "complete")]


def test_the_reply_goes_on_to_its_end_when_the_asker_hangs_up(room, held, chat_server):
    conversation = room.start("bob")
    connection, _ = ask(room, "bob", conversation)
    connection.close()  # the asker reloads the page
    held.set()
    chat_server.wait_idle()  # the handler read the reply to its end
    assert shown(room, "bob", conversation)[-1] == ("assistant", "Assistant", f"Echo: {QUESTION}", "complete")


@pytest.mark.parametrize("who", ["bob", "alice"])  # the asker, or the room's owner
def test_a_reply_is_stopped_by_the_asker_or_the_owner(room, held, who):
    conversation = room.start("bob", "carol")
    connection, response = ask(room, "bob", conversation)
    try:
        refused = call(room.chat, "POST", CHAT, {"conversationId": conversation, "stop": True}, room.headers["carol"])
        assert (refused.status, refused.error_code) == (403, "owner_only")
        stranger = call(room.chat, "POST", CHAT, {"conversationId": conversation, "stop": True}, room.headers["eve"])
        assert (stranger.status, stranger.error_code) == (404, "conversation_not_found")
        stopped = call(room.chat, "POST", CHAT, {"conversationId": conversation, "stop": True}, room.headers[who])
        assert (stopped.status, stopped.json()) == (200, {"conversationId": conversation, "stopped": True})
        assert shown(room, "carol", conversation)[-1] == ("assistant", "Assistant", "Echo: ", "interrupted")
        held.set()
        events = rest_of(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "done" and events[-1]["finishReason"] == "stopped"
    # the writer found its next update refused and stored nothing more
    assert shown(room, "alice", conversation)[-1] == ("assistant", "Assistant", "Echo: ", "interrupted")
    again = call(room.chat, "POST", CHAT, {"conversationId": conversation, "stop": True}, room.headers["alice"])
    assert again.json() == {"conversationId": conversation, "stopped": False}


@pytest.mark.parametrize("body, field", [({"stop": True}, "conversationId"),
                                         ({"stop": True, "conversationId": "x"}, "conversationId"),
                                         ({"stop": True, "conversationId": "{c}", "message": "x"}, "message"),
                                         ({"stop": True, "conversationId": "{c}", "regenerate": True}, "regenerate")])
def test_a_bad_stop_is_422(room, body, field):
    conversation = room.start()
    body = {k: (conversation if v == "{c}" else v) for k, v in body.items()}
    reply = call(room.chat, "POST", CHAT, body, room.headers["alice"])
    assert (reply.status, reply.json()["error"]["field"]) == (422, field)


def test_a_failed_reply_leaves_the_question_and_no_reply_in_progress(room, fake_openai):
    conversation = room.start("bob")
    fake_openai.fail_next("401")
    assert room.say("bob", "@IA encore", conversationId=conversation).status == 502
    assert shown(room, "alice", conversation) == [("user", "Bob", "@IA encore", "complete")]


def test_a_reply_cut_mid_stream_keeps_what_arrived_marked_interrupted(room, fake_openai):
    conversation = room.start("bob")
    fake_openai.fail_next("cut")
    connection, response = open_stream(room.chat, CHAT, {"message": "@IA un deux trois quatre", "stream": True,
                                                         "conversationId": conversation}, room.headers["bob"])
    try:
        events = rest_of(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "error"
    [(role, _, content, status)] = shown(room, "alice", conversation)[1:]
    assert (role, status) == ("assistant", "interrupted") and "Echo: @IA un deux trois quatre".startswith(content)


def test_a_private_reply_is_still_stored_only_at_its_end(room, held):
    connection, response = open_stream(room.chat, CHAT, {"message": "Bonjour", "stream": True},
                                       room.headers["alice"])
    try:
        assert read_event(response)["type"] == "delta"
        assert call(room.chat, "GET", CHAT, headers=room.headers["alice"]).json()["conversations"] == []
        held.set()
        events = rest_of(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "done" and events[-1]["saved"] is True


def test_a_room_deleted_while_its_reply_is_written_is_not_brought_back(room, held):
    conversation = room.start("bob")
    connection, response = ask(room, "alice", conversation)
    try:
        assert call(room.chat, "DELETE", f"{CHAT}?conversationId={conversation}",
                    headers=room.headers["alice"]).status == 200
        held.set()
        events = rest_of(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "conversation_not_found"
    assert room.read("alice", conversation).status == 404
