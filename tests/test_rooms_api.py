"""Rooms through the API, on each store: invitations, members, who reads and writes, when the assistant answers."""

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from unittest.mock import ANY

import jwt
import pytest

from lib.rooms import token_hash
from tests.helpers import LoopbackServer, call, freeze_limit_clock, load_handler, open_stream, read_event

CHAT, MEMBERS = "/api/groupchat/chat", "/api/groupchat/members"
SECRET = "jwt-secret-for-room-tests-0123456789abcdef"
PEOPLE = {  # who signs in, and what their Supabase access token says about them
    "alice": {"user_metadata": {"full_name": "Alice Martin"}, "email": "alice@example.com"},
    "bob": {"user_metadata": {"name": "Bob"}, "email": "bob@example.com"},
    "carol": {"email": "carol@example.com"},
    "eve": {"user_metadata": {"full_name": "Eve"}},
}


@pytest.fixture(scope="module")
def members_server():
    server = LoopbackServer(load_handler("groupchat/members.py"))
    yield server
    server.shutdown()


class Room:
    """The chat and members endpoints on one store, and people signed in to them."""

    def __init__(self, chat: int, members: int, backend):
        self.chat, self.members, self.postgrest, self.backend = chat, members, backend.postgrest, backend
        self.ids, self.headers = {}, {}
        for name, claims in PEOPLE.items():
            self.sign_in(name, claims)

    def sign_in(self, who: str, claims: dict) -> None:
        """A new person, `who` in the tests, whose access token says `claims` (their name)."""
        self.ids[who] = self.backend.new_user()
        token_claims = {"sub": self.ids[who], "aud": "authenticated", "exp": int(time.time()) + 600, **claims}
        if self.backend.issuer:
            token_claims["iss"] = self.backend.issuer
        self.headers[who] = {"Authorization": f"Bearer {jwt.encode(token_claims, SECRET, algorithm='HS256')}"}

    def create(self, who: str, title: str = "Projet retraite"):
        return call(self.members, "POST", MEMBERS, {"title": title}, self.headers[who])

    def start(self, *joiners: str) -> str:
        """A room Alice made with no message, each joiner admitted by an invitation of their own."""
        conversation = self.create("alice").json()["conversationId"]
        for name in joiners:
            invite = self.invite("alice", conversation).json()["invite"]
            assert self.join(name, invite).json() == {"conversationId": conversation, "role": "member"}
        return conversation

    def say(self, who: str, message: str, **fields):
        return call(self.chat, "POST", CHAT, {"message": message, **fields}, self.headers[who])

    def read(self, who: str, conversation: str, after: int | None = None):
        suffix = "" if after is None else f"&after={after}"
        return call(self.chat, "GET", f"{CHAT}?conversationId={conversation}{suffix}", headers=self.headers[who])

    def invite(self, who: str, conversation: str, **fields):
        return call(self.members, "POST", MEMBERS, {"conversationId": conversation, **fields}, self.headers[who])

    def join(self, who: str, invite: str):
        return call(self.members, "POST", MEMBERS, {"invite": invite}, self.headers[who])

    def member_list(self, who: str, conversation: str):
        return call(self.members, "GET", f"{MEMBERS}?conversationId={conversation}", headers=self.headers[who])

    def remove(self, who: str, conversation: str, whom: str):
        return call(self.members, "DELETE", f"{MEMBERS}?conversationId={conversation}&userId={self.ids[whom]}",
                    headers=self.headers[who])

    def open(self, *joiners: str) -> str:
        """Alice's conversation with one turn, shared with each joiner (an invitation each: they admit one)."""
        conversation = self.say("alice", "Bonjour").json()["conversationId"]
        self.invite("alice", conversation)  # a room even with no joiner
        for name in joiners:
            invite = self.invite("alice", conversation).json()["invite"]
            assert self.join(name, invite).json() == {"conversationId": conversation, "role": "member"}
        return conversation


@pytest.fixture
def room(backend, env, fake_openai, chat, members_server):
    """History on in each store, callers signed in with Supabase tokens."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    return Room(chat, members_server.port, backend)


def store_of(env):
    import os

    from lib import settings, stores

    return stores.open_store(settings.history(os.environ))


def contents(reply) -> list[tuple[str, str, str]]:
    assert reply.status == 200, reply.text
    return [(m["role"], m["author"]["name"], m["content"]) for m in reply.json()["messages"]]


def test_the_owner_invites_and_the_invitee_joins(room):
    conversation = room.say("alice", "Bonjour").json()["conversationId"]
    reply = room.invite("alice", conversation)
    assert reply.status == 201
    created = reply.json()
    assert set(created) == {"invite", "url", "expiresAt", "id", "reusable"} and created["reusable"] is False
    assert created["url"] == f"http://127.0.0.1:{room.members}/?invite={created['invite']}"
    expires = datetime.fromisoformat(created["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
    joined = room.join("bob", created["invite"])
    assert (joined.status, joined.json()) == (200, {"conversationId": conversation, "role": "member"})
    assert room.member_list("bob", conversation).json() == {"members": [
        {"userId": room.ids["alice"], "name": "Alice Martin", "role": "owner"},
        {"userId": room.ids["bob"], "name": "Bob", "role": "member"}], "you": room.ids["bob"],
        "title": "Bonjour", "assistantReplies": "mentions"}


def test_a_member_sees_the_whole_conversation_with_its_authors(room):
    conversation = room.open("bob", "carol")
    assert contents(room.read("carol", conversation)) == [
        ("user", "Alice Martin", "Bonjour"), ("assistant", "Assistant", "Echo: Bonjour")]
    room.say("carol", "Je suis là", conversationId=conversation)
    [message] = room.read("bob", conversation).json()["messages"][-1:]
    assert message["author"] == {"userId": room.ids["carol"], "name": "carol@example.com"}
    assert room.read("bob", conversation).json()["room"] == {"role": "member", "assistantReplies": "mentions",
                                                          "membersVersion": ANY}


def test_a_message_not_addressed_to_the_assistant_is_stored_without_calling_openai(room, fake_openai):
    conversation = room.open("bob")
    before = len(fake_openai.requests)
    reply = room.say("bob", "Qu'en penses-tu, Alice ?", conversationId=conversation)
    assert (reply.status, reply.json()) == (200, {"conversationId": conversation, "message": None, "saved": True})
    streamed = call(room.chat, "POST", CHAT, {"message": "Et toi ?", "conversationId": conversation, "stream": True},
                    room.headers["alice"]).events()
    assert streamed == [{"type": "done", "conversationId": conversation, "message": None, "saved": True}]
    assert len(fake_openai.requests) == before
    assert contents(room.read("alice", conversation))[2:] == [
        ("user", "Bob", "Qu'en penses-tu, Alice ?"), ("user", "Alice Martin", "Et toi ?")]


@pytest.mark.parametrize("message, fields", [("@IA un résumé ?", {}), ("Un avis, @assistant ?", {}),
                                             ("Un résumé ?", {"askAssistant": True})])
def test_the_assistant_answers_when_addressed(room, fake_openai, message, fields):
    conversation = room.open("bob")
    room.say("alice", "Le budget est de 10 k€.", conversationId=conversation)
    reply = room.say("bob", message, conversationId=conversation, **fields)
    assert reply.status == 200 and reply.json()["message"] == f"Echo: {message}" and reply.json()["saved"] is True
    sent = fake_openai.requests[-1]["body"]["messages"]
    assert {"role": "user", "name": "participant_1", "content": "Le budget est de 10 k€."} in sent  # who said what
    assert sent[-1] == {"role": "user", "name": "participant_2", "content": message}
    assert contents(room.read("alice", conversation))[-2:] == [("user", "Bob", message),
                                                               ("assistant", "Assistant", f"Echo: {message}")]


def test_an_e_mail_address_is_not_a_mention(room, fake_openai):
    conversation = room.open("bob")
    before = len(fake_openai.requests)
    assert room.say("bob", "écris à support@ia.example", conversationId=conversation).json()["message"] is None
    assert len(fake_openai.requests) == before


def test_the_owner_can_have_the_assistant_answer_every_message(room):
    conversation = room.open("bob")
    set_all = {"conversationId": conversation, "assistantReplies": "all"}
    refused = call(room.members, "PATCH", MEMBERS, set_all, room.headers["bob"])
    assert (refused.status, refused.error_code) == (403, "owner_only")
    assert call(room.members, "PATCH", MEMBERS, set_all, room.headers["alice"]).json() == set_all
    assert room.say("bob", "Bonjour à tous", conversationId=conversation).json()["message"] == "Echo: Bonjour à tous"


def test_reading_after_a_message_returns_only_newer_ones(room):
    conversation = room.open("bob")
    last = room.read("bob", conversation).json()["messages"][-1]["id"]
    assert room.read("bob", conversation, after=last).json()["messages"] == []
    room.say("alice", "Nouveau", conversationId=conversation)
    room.say("alice", "@IA encore", conversationId=conversation)
    newer = room.read("bob", conversation, after=last).json()["messages"]
    assert [m["content"] for m in newer] == ["Nouveau", "@IA encore", "Echo: @IA encore"]
    assert [m["content"] for m in room.read("bob", conversation, after=newer[0]["id"]).json()["messages"]] == [
        "@IA encore", "Echo: @IA encore"]


@pytest.mark.parametrize("query, field", [("after=-1", "after"), ("after=abc", "after"), ("after=1", "conversationId")])
def test_a_bad_after_is_422(room, query, field):
    conversation = room.open()
    path = f"{CHAT}?conversationId={conversation}&{query}" if field == "after" else f"{CHAT}?{query}"
    reply = call(room.chat, "GET", path, headers=room.headers["alice"])
    assert (reply.status, reply.json()["error"]["field"]) == (422, field)


def test_the_list_marks_rooms_and_who_is_in_them(room):
    conversation = room.open("bob")
    alone = room.say("alice", "Privé").json()["conversationId"]
    listed = {c["id"]: c["room"] for c in call(room.chat, "GET", CHAT, headers=room.headers["alice"]).json()[
        "conversations"]}
    assert listed[alone] is None
    assert listed[conversation]["role"] == "owner"
    assert [(m["name"], m["role"]) for m in listed[conversation]["members"]] == [("Alice Martin", "owner"),
                                                                                  ("Bob", "member")]
    [bobs] = call(room.chat, "GET", CHAT, headers=room.headers["bob"]).json()["conversations"]
    assert (bobs["id"], bobs["title"], bobs["room"]["role"]) == (conversation, "Bonjour", "member")


def found(room, who: str, query: str) -> list[tuple[str, str | None]]:
    from urllib.parse import quote

    reply = call(room.chat, "GET", f"{CHAT}?q={quote(query)}", headers=room.headers[who])
    assert reply.status == 200, reply.text
    return [(c["id"], c["snippet"]) for c in reply.json()["conversations"]]


def test_search_finds_the_rooms_a_member_is_in_as_the_list_shows_them(room):
    conversation = room.open("bob")
    room.say("alice", "Parlons du budget retraite", conversationId=conversation)
    own = room.say("bob", "Mon budget vacances ?").json()["conversationId"]
    assert found(room, "bob", "BUDGET") == [(own, "Echo: Mon budget vacances ?"),  # the assistant's echo: newest
                                            (conversation, "Parlons du budget retraite")]
    assert found(room, "alice", "budget") == [(conversation, "Parlons du budget retraite")]  # hers, once
    assert found(room, "carol", "budget") == []  # not in the room
    assert room.remove("alice", conversation, "bob").status == 200
    assert found(room, "bob", "budget") == [(own, "Echo: Mon budget vacances ?")]  # removed: no longer found


def test_a_non_member_gets_404_everywhere_exactly_as_for_no_conversation(room, fake_openai):
    conversation = room.open("bob")
    before = len(fake_openai.requests)
    for target in (conversation, str(uuid.uuid4())):
        replies = [room.read("eve", target), room.read("eve", target, after=0),
                   room.say("eve", "@IA je lis ?", conversationId=target),
                   call(room.chat, "DELETE", f"{CHAT}?conversationId={target}", headers=room.headers["eve"]),
                   room.member_list("eve", target), room.invite("eve", target), room.remove("eve", target, "bob"),
                   room.remove("eve", target, "eve"),
                   call(room.members, "PATCH", MEMBERS, {"conversationId": target, "assistantReplies": "all"},
                        room.headers["eve"])]
        assert [(r.status, r.error_code) for r in replies] == [(404, "conversation_not_found")] * len(replies)
        assert {r.json()["error"]["message"] for r in replies} == {"No conversation with this id."}
    assert len(fake_openai.requests) == before


def test_a_member_cannot_invite_or_delete_the_room(room):
    conversation = room.open("bob")
    for reply in (room.invite("bob", conversation),
                  call(room.chat, "DELETE", f"{CHAT}?conversationId={conversation}", headers=room.headers["bob"])):
        assert (reply.status, reply.error_code) == (403, "owner_only")
    assert len(room.read("alice", conversation).json()["messages"]) == 2


def test_the_owner_removes_a_member_who_loses_access_at_once(room, fake_openai):
    conversation = room.open("bob", "carol")
    refused = room.remove("carol", conversation, "bob")
    assert (refused.status, refused.error_code) == (403, "owner_only")
    reply = room.remove("alice", conversation, "bob")
    assert reply.json() == {"removed": True, "conversationId": conversation, "userId": room.ids["bob"]}
    last = room.read("alice", conversation).json()["messages"][-1]["id"]
    for refused in (room.read("bob", conversation), room.read("bob", conversation, after=last),
                    room.say("bob", "@IA encore là ?", conversationId=conversation),
                    room.member_list("bob", conversation)):
        assert (refused.status, refused.error_code) == (404, "conversation_not_found")
    assert call(room.chat, "GET", CHAT, headers=room.headers["bob"]).json()["conversations"] == []
    assert [m["name"] for m in room.member_list("carol", conversation).json()["members"]] == [
        "Alice Martin", "carol@example.com"]
    again = room.remove("alice", conversation, "bob")
    assert (again.status, again.error_code) == (404, "member_not_found")


@pytest.mark.stores("supabase")  # accounts are deleted in Supabase (auth.users)
def test_a_deleted_members_messages_stay_in_the_room_under_their_name(room):
    conversation = room.open("bob", "carol")
    room.say("bob", "Bonjour à tous", conversationId=conversation)
    room.postgrest.postgres.delete_user(room.ids["bob"])  # as GoTrue does
    for reader in ("alice", "carol"):
        messages = room.read(reader, conversation).json()["messages"]
        assert [(m["content"], m["author"]) for m in messages if m["role"] == "user"] == [
            ("Bonjour", {"userId": room.ids["alice"], "name": "Alice Martin"}),
            ("Bonjour à tous", {"userId": room.ids["bob"], "name": "Bob"})]
    assert [m["name"] for m in room.member_list("alice", conversation).json()["members"]] == [
        "Alice Martin", "carol@example.com"]
    refused = room.read("bob", conversation)  # his access token is still valid until it expires: no matter
    assert (refused.status, refused.error_code) == (404, "conversation_not_found")


def test_a_member_leaves_but_the_owner_cannot(room):
    conversation = room.open("bob")
    assert room.remove("bob", conversation, "bob").json()["removed"] is True
    assert room.read("bob", conversation).status == 404
    refused = room.remove("alice", conversation, "alice")
    assert (refused.status, refused.json()["error"]["field"]) == (422, "userId")


def test_expired_revoked_and_unknown_invitations_are_404(room, env):
    conversation = room.open()
    expired = "expired-invitation-token-0123456789"
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(timespec="microseconds")
    store_of(env).create_invite(room.ids["alice"], conversation, "Alice", token_hash(expired), past)
    revoked = room.invite("alice", conversation).json()["invite"]
    not_theirs = call(room.members, "DELETE", f"{MEMBERS}?invite={revoked}", headers=room.headers["bob"])
    assert (not_theirs.status, not_theirs.error_code) == (404, "invite_not_found")
    assert call(room.members, "DELETE", f"{MEMBERS}?invite={revoked}", headers=room.headers["alice"]).json() == {
        "revoked": True}
    for token in (expired, revoked, "unknown-invitation-token-0123456789", "short"):
        reply = room.join("bob", token)
        assert (reply.status, reply.error_code) == (404, "invite_not_found")
    assert room.read("bob", conversation).status == 404


@pytest.mark.parametrize("body, field", [({}, "body"), ({"conversationId": "x"}, "conversationId"),
                                         ({"invite": 5}, "invite"), ({"invite": "a", "conversationId": "b"}, "body"),
                                         ({"invite": "abcdefabcdefabcdef", "role": "owner"}, "role"),
                                         ({"conversationId": str(uuid.uuid4()), "expiresInDays": 0}, "expiresInDays")])
def test_bad_member_requests_are_422(room, body, field):
    reply = call(room.members, "POST", MEMBERS, body, room.headers["alice"])
    assert (reply.status, reply.json()["error"]["field"]) == (422, field)


def test_anonymous_callers_cannot_create_or_join_rooms(room, env):
    conversation = room.open()
    invite = room.invite("alice", conversation).json()["invite"]
    env.setenv("ALLOW_ANONYMOUS", "1")
    anonymous = call(room.chat, "POST", CHAT, {"message": "à moi"})
    assert anonymous.status == 200
    for body in ({"conversationId": anonymous.json()["conversationId"]}, {"invite": invite}):
        reply = call(room.members, "POST", MEMBERS, body)
        assert (reply.status, reply.error_code) == (403, "sign_in_required")
    assert call(room.members, "POST", MEMBERS, {"invite": invite}, {"Authorization": "Bearer nope"}).status == 401


def test_the_dashboard_token_joins_under_its_name(room, env):
    env.setenv("DASHBOARD_TOKEN", "dashboard-token-for-room-tests")
    conversation = room.open()
    invite = room.invite("alice", conversation).json()["invite"]
    token = {"Authorization": "Bearer dashboard-token-for-room-tests"}
    assert call(room.members, "POST", MEMBERS, {"invite": invite}, token).json()["role"] == "member"
    call(room.chat, "POST", CHAT, {"message": "Depuis le tableau de bord", "conversationId": conversation}, token)
    assert contents(room.read("alice", conversation))[-1] == ("user", "Dashboard", "Depuis le tableau de bord")


def test_the_reply_is_charged_to_the_one_who_asked(room, env):
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "1")
    conversation = room.open("bob")  # Alice's first turn uses her budget up
    assert room.say("bob", "@IA une question", conversationId=conversation).status == 200
    refused = room.say("bob", "@IA une autre", conversationId=conversation)
    assert (refused.status, refused.json()["error"]["limit"]) == (429, "tokens:day")
    assert room.say("carol", "x").status == 200  # someone else still has their budget


def test_a_message_to_the_room_counts_against_message_limits_and_the_posters_tokens(room, env):
    freeze_limit_clock(env)
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "1")
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "3")
    conversation = room.open("bob")
    assert room.say("bob", "@IA une question", conversationId=conversation).status == 200  # Bob's tokens used up
    for message in ("@IA une autre", "Merci Alice"):  # his words would reach the next question's context too
        refused = room.say("bob", message, conversationId=conversation)
        assert (refused.status, refused.json()["error"]["limit"]) == (429, "tokens:day")
    assert room.say("carol", "x").status == 200  # someone else still has their budget
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "0")
    # the refused messages were not counted: Bob has sent 1 of his 3 messages today
    assert room.say("bob", "Et ensuite ?", conversationId=conversation).status == 200
    assert room.say("bob", "Encore ?", conversationId=conversation).status == 200
    over = room.say("bob", "Un dernier mot", conversationId=conversation)
    assert (over.status, over.json()["error"]["limit"]) == (429, "chat:day")
    assert contents(room.read("alice", conversation))[-2:] == [  # the refused messages are not stored
        ("user", "Bob", "Et ensuite ?"), ("user", "Bob", "Encore ?")]


def test_two_members_writing_at_once_never_interleave_a_turn(room):
    conversation = room.open("bob", "carol")

    def ask(name, n):
        assert room.say(name, f"@IA {name} {n}", conversationId=conversation).json()["saved"] is True

    threads = [threading.Thread(target=ask, args=(name, n)) for n in range(4) for name in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turns = contents(room.read("alice", conversation))[2:]
    assert len(turns) == 16
    for (role, author, question), answer in zip(turns[::2], turns[1::2]):
        assert (role, answer) == ("user", ("assistant", "Assistant", f"Echo: {question}"))
        assert author.lower().startswith(question.split()[1])


def while_bob_is_answered(room, fake_openai, conversation: str, message: str, meanwhile) -> list[dict]:
    """Bob asks in the room; while the reply is held after its first words, run `meanwhile`; then the events."""
    fake_openai.gate = threading.Event()
    connection, response = open_stream(room.chat, CHAT, {"message": message, "stream": True,
                                                         "conversationId": conversation}, room.headers["bob"])
    try:
        assert read_event(response)["type"] == "delta"  # the reply is under way
        meanwhile()
        fake_openai.gate.set()
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(read_event(response))
        return events
    finally:
        connection.close()
        fake_openai.gate = None


def test_a_member_removed_mid_reply_cannot_read_it_and_the_reply_is_dropped(room, fake_openai):
    conversation = room.open("bob", "carol")
    last = room.read("alice", conversation).json()["messages"][-1]["id"]

    def remove_both():
        assert room.remove("alice", conversation, "bob").status == 200
        assert room.remove("alice", conversation, "carol").status == 200

    events = while_bob_is_answered(room, fake_openai, conversation, "@IA un long calcul", remove_both)
    assert events[-1]["error"]["code"] == "conversation_not_found"
    # his question was posted while he was a member, and stays, as anything he wrote; the reply is deleted
    assert contents(room.read("alice", conversation, after=last)) == [("user", "Bob", "@IA un long calcul")]
    assert room.read("carol", conversation, after=last).status == 404


def test_a_member_removed_while_another_asks_cannot_read_the_reply(room, fake_openai):
    conversation = room.open("bob", "carol")
    last = room.read("alice", conversation).json()["messages"][-1]["id"]
    events = while_bob_is_answered(room, fake_openai, conversation, "@IA pour Bob seulement",
                                   lambda: room.remove("alice", conversation, "carol"))
    assert events[-1]["type"] == "done" and events[-1]["saved"] is True
    assert len(room.read("bob", conversation, after=last).json()["messages"]) == 2
    assert room.read("carol", conversation, after=last).status == 404


@pytest.mark.stores("supabase")
def test_a_poll_is_one_request_to_the_store_and_an_idle_one_reads_no_message(room):
    """What the README's polling cost says: per poll, one function call and (Supabase) one PostgREST request."""
    conversation = room.open("bob")
    last = room.read("bob", conversation).json()["messages"][-1]["id"]
    before = len(room.postgrest.requests)
    idle = room.read("bob", conversation, after=last).json()
    assert (idle["messages"], idle["hasNewer"]) == ([], False)
    assert len(room.postgrest.requests) - before == 1
    room.say("alice", "Du nouveau", conversationId=conversation)
    before = len(room.postgrest.requests)
    assert contents(room.read("bob", conversation, after=last))[-1:] == [("user", "Alice Martin", "Du nouveau")]
    assert len(room.postgrest.requests) - before == 1


def test_the_members_version_changes_when_someone_joins_or_leaves_and_only_then(room):
    conversation = room.open("bob")
    version = room.read("alice", conversation).json()["room"]["membersVersion"]
    room.say("bob", "Bonjour", conversationId=conversation)
    assert room.read("bob", conversation).json()["room"]["membersVersion"] == version
    room.join("carol", room.invite("alice", conversation).json()["invite"])
    joined = room.read("alice", conversation).json()["room"]["membersVersion"]
    assert joined != version
    room.remove("alice", conversation, "carol")
    assert room.read("bob", conversation).json()["room"]["membersVersion"] == version


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_rooms_reply_cannot_be_regenerated_by_owner_or_member(room, fake_openai, who):
    conversation = room.open("bob")
    before, stored = len(fake_openai.requests), contents(room.read("alice", conversation))
    refused = call(room.chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True}, room.headers[who])
    assert (refused.status, refused.error_code) == (422, "validation_error")
    assert refused.json()["error"]["field"] == "regenerate"
    assert len(fake_openai.requests) == before
    assert contents(room.read("alice", conversation)) == stored


def test_a_non_member_regenerating_a_room_gets_404(room):
    conversation = room.open("bob")
    refused = call(room.chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True},
                   room.headers["carol"])
    assert (refused.status, refused.error_code) == (404, "conversation_not_found")


# --- A room made without the assistant; invitations that admit one person; removal that holds (issue 22) ---

def test_a_room_is_created_with_a_title_and_nothing_reaches_openai_or_any_limit(room, env, fake_openai):
    freeze_limit_clock(env)
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "1")
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "1")
    reply = room.create("alice", "  Projet   retraite ")
    assert reply.status == 201
    conversation = reply.json()["conversationId"]
    assert reply.json() == {"conversationId": conversation, "title": "Projet retraite", "role": "owner"}
    assert fake_openai.requests == []
    read = room.read("alice", conversation).json()
    assert (read["title"], read["messages"], read["room"]["role"]) == ("Projet retraite", [], "owner")
    assert room.member_list("alice", conversation).json() == {
        "members": [{"userId": room.ids["alice"], "name": "Alice Martin", "role": "owner"}], "you": room.ids["alice"],
        "title": "Projet retraite", "assistantReplies": "mentions", "invites": []}
    assert room.say("alice", "Bienvenue", conversationId=conversation).status == 200  # her one message today


@pytest.mark.parametrize("body, field", [({"title": ""}, "title"), ({"title": " \n "}, "title"),
                                         ({"title": "x" * 201}, "title"), ({"title": 5}, "title"),
                                         ({"title": "a\u0000b"}, "title"),
                                         ({"title": "x", "conversationId": str(uuid.uuid4())}, "body"),
                                         ({"title": "x", "invite": "abcdefabcdefabcdef"}, "body")])
def test_a_bad_room_title_is_422(room, body, field):
    reply = call(room.members, "POST", MEMBERS, body, room.headers["alice"])
    assert (reply.status, reply.json()["error"]["field"]) == (422, field)


def test_anonymous_callers_cannot_create_a_room(room, env):
    env.setenv("ALLOW_ANONYMOUS", "1")
    reply = call(room.members, "POST", MEMBERS, {"title": "Projet"})
    assert (reply.status, reply.error_code) == (403, "sign_in_required")


def test_an_invitation_admits_one_person_unless_reusable(room):
    conversation = room.start()
    single = room.invite("alice", conversation).json()
    assert single["reusable"] is False
    assert room.join("bob", single["invite"]).json()["role"] == "member"
    refused = room.join("carol", single["invite"])
    assert (refused.status, refused.error_code) == (404, "invite_not_found")
    assert room.join("bob", single["invite"]).json() == {"conversationId": conversation, "role": "member"}  # re-entry
    assert room.join("alice", single["invite"]).json()["role"] == "owner"
    reusable = room.invite("alice", conversation, reusable=True).json()
    assert reusable["reusable"] is True
    for name in ("carol", "eve"):
        assert room.join(name, reusable["invite"]).json()["role"] == "member"
    assert [m["name"] for m in room.member_list("alice", conversation).json()["members"]] == [
        "Alice Martin", "Bob", "carol@example.com", "Eve"]


def test_the_owner_sees_the_open_invitations_and_members_do_not(room):
    conversation = room.start("bob")  # Bob's invitation is spent
    reusable = room.invite("alice", conversation, reusable=True, expiresInDays=2).json()
    single = room.invite("alice", conversation).json()
    revoked = room.invite("alice", conversation).json()
    assert call(room.members, "DELETE", f"{MEMBERS}?invite={revoked['invite']}", headers=room.headers["alice"]).json()[
        "revoked"] is True
    room.join("carol", reusable["invite"])
    listed = room.member_list("alice", conversation).json()["invites"]
    assert [(i["id"], i["reusable"], i["joined"]) for i in listed] == [(reusable["id"], True, 1),
                                                                        (single["id"], False, 0)]
    assert listed[0]["expiresAt"] == reusable["expiresAt"]
    assert set(listed[0]) == {"id", "createdAt", "expiresAt", "reusable", "joined", "createdBy"}
    assert listed[0]["createdBy"] == {"userId": room.ids["alice"], "name": "Alice Martin"}
    created = datetime.fromisoformat(listed[0]["createdAt"].replace("Z", "+00:00"))
    assert abs(created - datetime.now(timezone.utc)) < timedelta(minutes=5)
    member_view = room.member_list("bob", conversation).json()
    assert "invites" not in member_view and member_view["title"] == "Projet retraite"


def test_the_owner_revokes_an_invitation_by_its_id(room):
    conversation = room.start("bob")
    invite = room.invite("alice", conversation, reusable=True).json()
    path = f"{MEMBERS}?conversationId={conversation}&inviteId={invite['id']}"
    for who in ("bob", "carol"):  # a member: invite_not_found; a stranger: the room does not exist for them
        refused = call(room.members, "DELETE", path, headers=room.headers[who])
        assert refused.status == 404
    assert call(room.members, "DELETE", path, headers=room.headers["bob"]).error_code == "invite_not_found"
    assert call(room.members, "DELETE", path, headers=room.headers["alice"]).json() == {"revoked": True}
    assert room.member_list("alice", conversation).json()["invites"] == []
    refused = room.join("carol", invite["invite"])
    assert (refused.status, refused.error_code) == (404, "invite_not_found")
    for invite_id, code in ((invite["id"], "invite_not_found"), (str(uuid.uuid4()), "invite_not_found")):
        again = call(room.members, "DELETE", f"{MEMBERS}?conversationId={conversation}&inviteId={invite_id}",
                     headers=room.headers["alice"])
        assert (again.status, again.error_code) == (404, code)
    bad = call(room.members, "DELETE", f"{MEMBERS}?conversationId={conversation}&inviteId=nope",
               headers=room.headers["alice"])
    assert (bad.status, bad.json()["error"]["field"]) == (422, "inviteId")


@pytest.mark.parametrize("how", ["removed", "left"])
def test_someone_who_left_cannot_come_back_with_an_older_invitation(room, how):
    conversation = room.start()
    reusable = room.invite("alice", conversation, reusable=True).json()["invite"]
    assert room.join("bob", reusable).json()["role"] == "member"
    spare = room.invite("alice", conversation).json()["invite"]  # single use, never used, made before
    assert room.remove("alice" if how == "removed" else "bob", conversation, "bob").status == 200
    for old in (reusable, spare):
        refused = room.join("bob", old)
        assert (refused.status, refused.error_code) == (404, "invite_not_found")
    for refused in (room.read("bob", conversation), room.member_list("bob", conversation),
                    room.say("bob", "Bonjour", conversationId=conversation)):
        assert (refused.status, refused.error_code) == (404, "conversation_not_found")
    assert room.join("carol", reusable).json()["role"] == "member"  # it still admits others
    fresh = room.invite("alice", conversation).json()["invite"]  # made after: it admits him again
    assert room.join("bob", fresh).json() == {"conversationId": conversation, "role": "member"}
    assert room.read("bob", conversation).status == 200


def test_the_list_says_each_rooms_last_message_time_member_count_and_the_callers_role(room):
    conversation = room.start("bob")
    room.say("bob", "Premier message", conversationId=conversation)
    last = room.read("alice", conversation).json()["messages"][-1]["createdAt"]
    for who, role in (("alice", "owner"), ("bob", "member")):
        [listed] = [c for c in call(room.chat, "GET", CHAT, headers=room.headers[who]).json()["conversations"]
                    if c["id"] == conversation]
        assert (listed["room"]["role"], listed["room"]["memberCount"]) == (role, 2)
        updated = datetime.fromisoformat(listed["updatedAt"].replace("Z", "+00:00"))
        assert abs(updated - datetime.fromisoformat(last.replace("Z", "+00:00"))) < timedelta(seconds=1)


def test_a_member_who_spent_their_budget_cannot_make_the_owners_question_cost_more(room, env, fake_openai):
    freeze_limit_clock(env)
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "100")
    env.setenv("CHAT_HISTORY_MAX_CHARS", "1000")
    conversation = room.start("bob")
    assert room.say("bob", "x" * 400, conversationId=conversation).status == 200  # 104 tokens: spent
    for n in range(3):
        refused = room.say("bob", str(n) * 8000, conversationId=conversation)
        assert (refused.status, refused.json()["error"]["limit"]) == (429, "tokens:day")
    question = "@IA un résumé ?"
    assert room.say("alice", question, conversationId=conversation).status == 200
    sent = fake_openai.requests[-1]["body"]["messages"]
    words = [m["content"] for m in sent if m["role"] != "system"]
    assert words[-1] == question
    assert sum(map(len, words)) <= len(question) + 1000
    assert [m["content"] for m in room.read("alice", conversation).json()["messages"]][:1] == ["x" * 400]
