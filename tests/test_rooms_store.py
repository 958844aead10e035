"""Rooms in every history store alike: membership, invitations, the room-aware turn writer, reads after a message."""

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from lib.stores import ConversationNotFound, RoomAccess


def new_id() -> str:
    return str(uuid.uuid4())


def in_days(days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat(timespec="microseconds")


def a_room(store, new_user, members=("Bob",)):
    """Alice's conversation with one turn, turned into a room that each named member joined: ids by name."""
    ids = {"Alice": new_user(), **{name: new_user() for name in members}}
    conversation = new_id()
    store.record_turn(ids["Alice"], conversation, "Budget", "Question", "Réponse")
    token = new_id()
    store.create_invite(ids["Alice"], conversation, "Alice", token, in_days(7), reusable=True)
    for name in members:
        assert store.accept_invite(token, ids[name], name) == (conversation, "member")
    return conversation, ids


def test_an_owner_has_access_to_their_conversation_before_it_is_a_room(store, new_user):
    owner, conversation = new_user(), new_id()
    store.record_turn(owner, conversation, "t", "q", "a")
    assert store.room_access(owner, conversation) == RoomAccess(owner, "owner", False, "mentions")
    assert store.room_access(new_id(), conversation) is None
    assert store.room_access(owner, new_id()) is None


def test_an_accepted_invitation_makes_a_member(store, new_user):
    conversation, ids = a_room(store, new_user)
    assert store.room_access(ids["Bob"], conversation) == RoomAccess(ids["Alice"], "member", True, "mentions")
    assert store.room_access(ids["Alice"], conversation).is_room is True
    assert store.members(ids["Alice"], conversation) == [
        {"userId": ids["Alice"], "name": "Alice", "role": "owner"},
        {"userId": ids["Bob"], "name": "Bob", "role": "member"}]


def test_the_owner_opening_their_own_invitation_stays_owner(store, new_user):
    conversation, ids = a_room(store, new_user, members=())
    token = new_id()
    store.create_invite(ids["Alice"], conversation, "Alice", token, in_days(1))
    assert store.accept_invite(token, ids["Alice"], "Alice") == (conversation, "owner")


def test_expired_revoked_and_unknown_invitations_admit_no_one(store, new_user):
    conversation, ids = a_room(store, new_user, members=())
    expired, revoked = new_id(), new_id()
    store.create_invite(ids["Alice"], conversation, "Alice", expired, in_days(-0.001))
    store.create_invite(ids["Alice"], conversation, "Alice", revoked, in_days(7))
    assert store.revoke_invite(new_id(), revoked) is False  # only its owner revokes it
    assert store.revoke_invite(ids["Alice"], revoked) is True
    assert store.revoke_invite(ids["Alice"], revoked) is False
    stranger = new_id()
    for token in (expired, revoked, new_id()):
        assert store.accept_invite(token, stranger, "Eve") is None
    assert store.room_access(stranger, conversation) is None


def test_only_the_owner_invites_to_their_conversation(store, new_user):
    conversation, ids = a_room(store, new_user)
    with pytest.raises(ConversationNotFound):
        store.create_invite(ids["Bob"], conversation, "Bob", new_id(), in_days(7))
    with pytest.raises(ConversationNotFound):
        store.create_invite(new_id(), new_id(), "x", new_id(), in_days(7))


def test_a_removed_member_loses_access_at_once_and_the_owner_cannot_be_removed(store, new_user):
    conversation, ids = a_room(store, new_user)
    assert store.remove_member(conversation, ids["Alice"]) is False
    assert store.remove_member(conversation, ids["Bob"]) is True
    assert store.remove_member(conversation, ids["Bob"]) is False
    assert store.room_access(ids["Bob"], conversation) is None
    assert store.rooms(ids["Bob"]) == []


def test_room_turns_carry_their_author_and_the_reply_is_optional(store, new_user):
    conversation, ids = a_room(store, new_user)
    store.record_room_turn(ids["Alice"], conversation, ids["Bob"], "Bob", "Bonjour", None)
    store.record_room_turn(ids["Alice"], conversation, ids["Alice"], "Alice", "@IA résume", "Résumé")
    messages = store.messages(ids["Alice"], conversation)
    assert [(m["role"], m["content"], m["authorId"], m["authorName"]) for m in messages] == [
        ("user", "Question", None, None), ("assistant", "Réponse", None, None),
        ("user", "Bonjour", ids["Bob"], "Bob"),
        ("user", "@IA résume", ids["Alice"], "Alice"), ("assistant", "Résumé", None, None)]


def test_someone_outside_the_room_cannot_write_into_it(store, new_user):
    conversation, ids = a_room(store, new_user)
    with pytest.raises(ConversationNotFound):
        store.record_room_turn(ids["Alice"], conversation, new_id(), "Eve", "intrusion", None)
    store.remove_member(conversation, ids["Bob"])
    with pytest.raises(ConversationNotFound):
        store.record_room_turn(ids["Alice"], conversation, ids["Bob"], "Bob", "encore moi", "réponse")
    with pytest.raises(ConversationNotFound):  # the owner id must be the conversation's
        store.record_room_turn(ids["Bob"], conversation, ids["Bob"], "Bob", "x", None)
    assert len(store.messages(ids["Alice"], conversation)) == 2


def test_messages_after_an_id_are_only_the_newer_ones(store, new_user):
    conversation, ids = a_room(store, new_user)
    for n in range(12):  # enough ids to cross a digit boundary
        store.record_room_turn(ids["Alice"], conversation, ids["Bob"], "Bob", f"m{n}", None)
    everything = store.messages(ids["Alice"], conversation)
    cut = everything[5]["id"]
    assert [m["content"] for m in store.messages(ids["Alice"], conversation, after=cut)] == [
        m["content"] for m in everything[6:]]
    assert store.messages(ids["Alice"], conversation, after=everything[-1]["id"]) == []
    assert store.messages(ids["Bob"], conversation, after=0) == []  # reads are by owner id only


def test_rooms_list_each_room_with_its_members(store, new_user):
    conversation, ids = a_room(store, new_user)
    [room] = store.rooms(ids["Bob"])
    assert (room["id"], room["title"], room["role"]) == (conversation, "Budget", "member")
    assert [(m["name"], m["role"]) for m in room["members"]] == [("Alice", "owner"), ("Bob", "member")]
    assert [r["role"] for r in store.rooms(ids["Alice"])] == ["owner"]


def test_the_owner_sets_when_the_assistant_answers(store, new_user):
    conversation, ids = a_room(store, new_user)
    assert store.set_assistant_replies(ids["Bob"], conversation, "all") is False
    assert store.set_assistant_replies(ids["Alice"], conversation, "all") is True
    assert store.room_access(ids["Bob"], conversation).assistant_replies == "all"


def test_deleting_a_room_deletes_its_memberships(store, new_user):
    conversation, ids = a_room(store, new_user)
    assert store.delete_conversation(ids["Alice"], conversation) is True
    assert store.room_access(ids["Bob"], conversation) is None
    assert store.rooms(ids["Bob"]) == []


def test_two_members_writing_at_once_never_interleave_a_turn(store, new_user):
    conversation, ids = a_room(store, new_user, members=("Bob", "Carol"))

    def turn(name, n):
        store.record_room_turn(ids["Alice"], conversation, ids[name], name, f"q-{name}-{n}", f"a-{name}-{n}")

    threads = [threading.Thread(target=turn, args=(name, n)) for n in range(6) for name in ("Bob", "Carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = store.messages(ids["Alice"], conversation)[2:]
    assert len(messages) == 24
    for question, answer in zip(messages[::2], messages[1::2]):
        assert (question["role"], answer["role"]) == ("user", "assistant")
        assert answer["content"] == "a" + question["content"][1:]
        assert question["authorName"] == question["content"].split("-")[1]


def test_a_reply_in_progress_grows_only_while_writing(store, new_user):
    conversation, ids = a_room(store, new_user)
    reply = store.start_room_reply(ids["Alice"], conversation, ids["Bob"], "Bob", "@IA ?")
    assert [(m["role"], m["content"], m["status"]) for m in store.messages(ids["Alice"], conversation)][-2:] == [
        ("user", "@IA ?", "complete"), ("assistant", "", "writing")]
    assert store.update_room_reply(ids["Alice"], conversation, reply, ids["Bob"], "Bon", "writing") == "ok"
    assert store.stop_room_replies(ids["Alice"], conversation, ids["Alice"]) == (0, 1)  # only her own: none
    assert store.stop_room_replies(ids["Alice"], conversation, ids["Bob"]) == (1, 0)
    assert store.update_room_reply(ids["Alice"], conversation, reply, ids["Bob"], "Bonjour", "complete") == "stopped"
    assert store.messages(ids["Alice"], conversation)[-1]["content"] == "Bon"
    again = store.start_room_reply(ids["Alice"], conversation, ids["Bob"], "Bob", "@IA encore ?")
    store.remove_member(conversation, ids["Bob"])
    assert store.update_room_reply(ids["Alice"], conversation, again, ids["Bob"], "x", "writing") == "gone"
    assert store.messages(ids["Alice"], conversation)[-1]["content"] == "@IA encore ?"  # the reply is deleted
    with pytest.raises(ConversationNotFound):
        store.start_room_reply(ids["Alice"], conversation, ids["Bob"], "Bob", "@IA ?")


@pytest.mark.stores("sqlite")
def test_a_sqlite_file_from_before_replies_in_progress_is_rebuilt_with_its_rows(tmp_path, new_user):
    import sqlite3

    from lib.stores import sqlite as sqlite_store

    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as db:
        db.executescript(sqlite_store.SCHEMA.replace("('complete', 'interrupted', 'writing')",
                                                     "('complete', 'interrupted')"))
        db.execute("insert into conversations values ('c1', 'u1', 'Vieux', '2026-01-01', '2026-01-01')")
        db.execute("insert into messages (conversation_id, user_id, role, content, created_at) "
                   "values ('c1', 'u1', 'user', 'Bonjour', '2026-01-01')")
    old = sqlite_store.SqliteStore(path)
    assert [m["content"] for m in old.messages("u1", "c1")] == ["Bonjour"]
    old.create_invite("u1", "c1", "Alice", "hash", in_days(1))
    reply = old.start_room_reply("u1", "c1", "u1", "Alice", "@IA ?")
    assert old.update_room_reply("u1", "c1", reply, "u1", "Oui", "complete") == "ok"
    assert [(m["content"], m["status"]) for m in old.messages("u1", "c1")] == [
        ("Bonjour", "complete"), ("@IA ?", "complete"), ("Oui", "complete")]
    with sqlite3.connect(path) as db:
        assert {row[0] for row in db.execute("select name from sqlite_master where tbl_name = 'messages' "
                                             "and type = 'index'")} >= {
            "messages_user_id_idx", "messages_conversation_id_user_id_id_idx"}
