"""The chat remembers: conversations per user, context sent back to OpenAI, every store alike."""

import threading
import time
import uuid

import jwt
import pytest

from lib import log

from lib.stores import StoreUnavailable

from tests.helpers import call, open_stream, read_event

CHAT = "/api/groupchat/chat"
SECRET = "jwt-secret-for-tests-0123456789abcdef0123"


def bearer(user_id: str, issuer: str | None, **extra) -> dict:
    claims = {"sub": user_id, "aud": "authenticated", "exp": int(time.time()) + 600, **extra}
    if issuer:
        claims["iss"] = issuer
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


ALICE, BOB = {}, {}  # filled per test by the history fixture with Supabase users' Authorization headers


@pytest.fixture
def history(backend, env, fake_openai):
    """History on, in each store; callers are Supabase users (Alice, Bob). The PostgREST stand-in, or None."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    for headers in (ALICE, BOB):
        headers.update(bearer(backend.new_user(), backend.issuer))
    return backend.postgrest


def say(port, message, who=ALICE, **fields):
    return call(port, "POST", CHAT, {"message": message, **fields}, who)


def messages_of(port, conversation, who=ALICE):
    reply = call(port, "GET", f"{CHAT}?conversationId={conversation}", headers=who)
    assert reply.status == 200, reply.text
    return [(m["role"], m["content"], m["status"]) for m in reply.json()["messages"]]


def test_a_first_turn_creates_a_conversation_titled_by_its_message(chat, history):
    reply = say(chat, "Quel est le solde\ndu compte courant ?")
    assert reply.status == 200 and reply.json()["saved"] is True
    conversation = reply.json()["conversationId"]
    listed = call(chat, "GET", CHAT, headers=ALICE).json()["conversations"]
    assert [(c["id"], c["title"]) for c in listed] == [(conversation, "Quel est le solde du compte courant ?")]
    assert messages_of(chat, conversation) == [
        ("user", "Quel est le solde\ndu compte courant ?", "complete"),
        ("assistant", "Echo: Quel est le solde\ndu compte courant ?", "complete")]


def test_later_turns_send_the_history_before_the_new_message(chat, history, fake_openai):
    conversation = say(chat, "premier").json()["conversationId"]
    say(chat, "second", conversationId=conversation, systemPrompt="Sois bref.")
    assert fake_openai.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": "Sois bref."},
        {"role": "user", "content": "premier"}, {"role": "assistant", "content": "Echo: premier"},
        {"role": "user", "content": "second"}]
    assert [m[1] for m in messages_of(chat, conversation)] == ["premier", "Echo: premier", "second", "Echo: second"]


def test_history_is_trimmed_from_the_oldest_to_the_budget(chat, history, fake_openai, env):
    env.setenv("CHAT_HISTORY_MAX_CHARS", "30")
    conversation = say(chat, "a" * 10).json()["conversationId"]
    say(chat, "b" * 10, conversationId=conversation)
    say(chat, "c" * 10, conversationId=conversation)
    sent = fake_openai.requests[-1]["body"]["messages"]
    assert sent == [{"role": "user", "content": "b" * 10}, {"role": "assistant", "content": "Echo: " + "b" * 10},
                    {"role": "user", "content": "c" * 10}]


def test_conversations_are_listed_newest_first(chat, history):
    first = say(chat, "un").json()["conversationId"]
    second = say(chat, "deux").json()["conversationId"]
    assert [c["id"] for c in call(chat, "GET", CHAT, headers=ALICE).json()["conversations"]] == [second, first]


def test_a_streamed_turn_is_stored_when_done(chat, history):
    events = call(chat, "POST", CHAT, {"message": "flux", "stream": True}, ALICE).events()
    done = events[-1]
    assert done["type"] == "done" and done["saved"] is True
    assert messages_of(chat, done["conversationId"])[-1] == ("assistant", "Echo: flux", "complete")


def test_a_stream_the_client_stops_is_stored_as_far_as_it_got(chat, chat_server, history, fake_openai):
    conversation = say(chat, "début").json()["conversationId"]
    fake_openai.gate = threading.Event()
    connection, response = open_stream(chat, CHAT, {"message": " ".join(["mot"] * 1900), "stream": True,
                                                    "conversationId": conversation}, ALICE)
    first = read_event(response)
    response.close()
    connection.close()
    fake_openai.gate.set()
    chat_server.wait_idle()  # the stopped stream's handler has stored what it got and ended
    stored = messages_of(chat, conversation)
    assert len(stored) == 4
    role, content, status = stored[-1]
    assert (role, status) == ("assistant", "interrupted")
    assert content.startswith(first["text"]) and len(content) < len("Echo: " + " ".join(["mot"] * 1900))
    fake_openai.gate = None


@pytest.mark.parametrize("faults", [("quota",), ("500", "503"), ("401",)])
def test_a_failed_turn_stores_nothing(chat, history, fake_openai, faults):
    conversation = say(chat, "avant").json()["conversationId"]
    fake_openai.fail_next(*faults)
    assert say(chat, "échec", conversationId=conversation).status >= 500
    assert messages_of(chat, conversation) == [("user", "avant", "complete"), ("assistant", "Echo: avant", "complete")]


def test_a_failed_first_turn_creates_no_conversation(chat, history, fake_openai):
    fake_openai.fail_next("quota")
    assert say(chat, "rien").status == 503
    assert call(chat, "GET", CHAT, headers=ALICE).json()["conversations"] == []


def test_a_cut_stream_stores_nothing(chat, history, fake_openai):
    conversation = say(chat, "avant").json()["conversationId"]
    fake_openai.fail_next("cut")
    events = call(chat, "POST", CHAT, {"message": "un deux trois quatre cinq six", "stream": True,
                                       "conversationId": conversation}, ALICE).events()
    assert events[-1]["type"] == "error"
    assert len(messages_of(chat, conversation)) == 2


@pytest.mark.parametrize("method, path_suffix", [("GET", ""), ("DELETE", ""), ("POST", "")])
def test_another_users_conversation_is_404_everywhere_and_never_reaches_openai(chat, history, fake_openai,
                                                                               method, path_suffix):
    conversation = say(chat, "secret d'Alice").json()["conversationId"]
    before = len(fake_openai.requests)
    if method == "POST":
        reply = say(chat, "je lis ?", who=BOB, conversationId=conversation)
    else:
        reply = call(chat, method, f"{CHAT}?conversationId={conversation}", headers=BOB)
    assert (reply.status, reply.error_code) == (404, "conversation_not_found")
    assert len(fake_openai.requests) == before
    assert len(messages_of(chat, conversation)) == 2  # Alice's conversation is untouched
    assert call(chat, "GET", CHAT, headers=BOB).json()["conversations"] == []


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_an_unknown_conversation_is_404(chat, history, fake_openai, method):
    unknown = str(uuid.uuid4())
    if method == "POST":
        reply = say(chat, "hi", conversationId=unknown)
    else:
        reply = call(chat, method, f"{CHAT}?conversationId={unknown}", headers=ALICE)
    assert reply.status == 404
    assert not fake_openai.requests


def test_deleting_a_conversation(chat, history):
    conversation = say(chat, "à effacer").json()["conversationId"]
    reply = call(chat, "DELETE", f"{CHAT}?conversationId={conversation}", headers=ALICE)
    assert reply.json() == {"deleted": True, "conversationId": conversation}
    assert call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=ALICE).status == 404


@pytest.mark.parametrize("method, path", [("GET", f"{CHAT}?conversationId=nope"), ("DELETE", f"{CHAT}?conversationId=1"),
                                          ("DELETE", CHAT)])
def test_a_bad_or_missing_conversation_id_is_422(chat, history, method, path):
    reply = call(chat, method, path, headers=ALICE)
    assert (reply.status, reply.json()["error"]["field"]) == (422, "conversationId")


def test_when_the_store_is_down_the_chat_answers_and_says_it_did_not_save(chat, history, env, tmp_path):
    if history is None:
        (tmp_path / "blocked").write_text("a file where a folder should be")
        env.setenv("HISTORY_DB", str(tmp_path / "blocked" / "history.sqlite3"))
    else:
        history.fail_next(*[503] * 10)
    reply = say(chat, "toujours là ?")
    assert reply.status == 200 and reply.json()["message"] == "Echo: toujours là ?"
    assert reply.json()["saved"] is False
    assert reply.json()["warning"]["code"] == "history_unavailable"
    listing = call(chat, "GET", CHAT, headers=ALICE)
    assert (listing.status, listing.error_code) == (503, "history_unavailable")


def test_when_the_store_fails_at_the_save_the_reply_still_arrives(chat, history, log_records):
    conversation = say(chat, "avant").json()["conversationId"]
    with pytest.MonkeyPatch.context() as patch:
        if history is None:
            def refuse(*args, **kwargs):
                raise StoreUnavailable("disk full")

            patch.setattr("lib.stores.sqlite.SqliteStore.record_turn", refuse)
        else:
            original = history.take_fault
            patch.setattr(history, "take_fault", lambda: 503 if history.requests[-1]["path"].startswith(
                "/rest/v1/rpc/record") else original())
        events = call(chat, "POST", CHAT, {"message": "après", "stream": True, "conversationId": conversation},
                      ALICE).events()
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Echo: après"
    assert events[-1]["saved"] is False and events[-1]["warning"]["code"] == "history_unavailable"
    assert len(messages_of(chat, conversation)) == 2  # still consistent: no half turn
    failed = [r.fields for r in log_records if r.fields.get("event") == "history_write_failed"]
    assert failed and all(conversation not in str(fields) for fields in failed)  # ids are logged hashed only
    assert failed[0]["conversationHash"] == log.conversation_hash(conversation)


def test_a_conversation_deleted_while_its_reply_streams_stays_deleted(chat, history, fake_openai):
    conversation = say(chat, "avant").json()["conversationId"]
    fake_openai.gate = threading.Event()
    connection, response = open_stream(chat, CHAT, {"message": "encore", "stream": True,
                                                    "conversationId": conversation}, ALICE)
    assert read_event(response)["type"] == "delta"  # the turn is under way
    deleted = call(chat, "DELETE", f"{CHAT}?conversationId={conversation}", headers=ALICE)
    assert deleted.json() == {"deleted": True, "conversationId": conversation}
    fake_openai.gate.set()
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(read_event(response))
    connection.close()
    fake_openai.gate = None
    assert events[-1]["type"] == "done" and events[-1]["saved"] is False
    assert events[-1]["warning"]["code"] == "history_unavailable"
    assert call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=ALICE).status == 404
    assert call(chat, "GET", CHAT, headers=ALICE).json()["conversations"] == []


def test_when_the_store_cannot_say_whose_conversation_it_is_the_turn_is_refused(chat, history, fake_openai):
    conversation = say(chat, "avant").json()["conversationId"]
    before = len(fake_openai.requests)
    with pytest.MonkeyPatch.context() as patch:
        if history is None:
            def fail(*args, **kwargs):
                raise StoreUnavailable("disk gone")

            patch.setattr("lib.stores.sqlite.SqliteStore.room_access", fail)  # who may enter: owner or member
        else:
            history.fail_next(503)
        reply = say(chat, "suite", conversationId=conversation)
    assert (reply.status, reply.error_code) == (503, "history_unavailable")
    assert len(fake_openai.requests) == before  # nothing was sent to OpenAI
    assert len(messages_of(chat, conversation)) == 2


def test_supabase_anonymous_sign_ins_are_refused_unless_allowed(chat, history, backend, fake_openai, env):
    user_id = str(uuid.uuid4())
    if history:
        history.postgres.add_user(user_id, is_anonymous=True)
    anonymous = bearer(user_id, backend.issuer, is_anonymous=True)
    for request in [("POST", CHAT, {"message": "bonjour"}), ("GET", CHAT, None)]:
        reply = call(chat, *request, anonymous)
        assert (reply.status, reply.error_code) == (401, "unauthorized")
    assert not fake_openai.requests
    env.setenv("SUPABASE_ALLOW_ANONYMOUS_USERS", "1")
    reply = say(chat, "bonjour", who=anonymous)
    assert reply.status == 200 and reply.json()["saved"] is True
    assert say(chat, "bonjour", who=bearer(user_id, backend.issuer, is_anonymous=False)).status == 200


def test_on_supabase_the_token_holder_chats_but_keeps_no_history(chat, env, fake_openai, postgrest):
    env.setenv("SUPABASE_URL", postgrest.url)
    env.setenv("SUPABASE_SERVICE_ROLE_KEY", postgrest.SERVICE_KEY)
    env.setenv("DASHBOARD_TOKEN", "dash-token")
    reply = call(chat, "POST", CHAT, {"message": "jeton"}, {"Authorization": "Bearer dash-token"})
    assert reply.status == 200 and reply.json()["saved"] is False
    assert reply.json()["warning"]["code"] == "history_disabled" and "signed-in" in reply.json()["warning"]["message"]


def test_with_no_store_history_is_off_and_the_api_says_so(chat, env, fake_openai):
    reply = call(chat, "POST", CHAT, {"message": "sans mémoire"})
    assert reply.status == 200
    assert reply.json()["saved"] is False and reply.json()["warning"]["code"] == "history_disabled"
    listing = call(chat, "GET", CHAT)
    assert (listing.status, listing.error_code) == (503, "history_disabled")
    assert "SUPABASE_URL" in listing.json()["error"]["message"]


def test_the_token_user_and_anonymous_callers_each_have_one_history(chat, env, fake_openai, tmp_path):
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    env.setenv("DASHBOARD_TOKEN", "dash-token")
    token = {"Authorization": "Bearer dash-token"}
    mine = call(chat, "POST", CHAT, {"message": "token"}, token).json()["conversationId"]
    theirs = call(chat, "POST", CHAT, {"message": "anonyme"}).json()["conversationId"]
    assert [c["id"] for c in call(chat, "GET", CHAT, headers=token).json()["conversations"]] == [mine]
    assert [c["id"] for c in call(chat, "GET", CHAT).json()["conversations"]] == [theirs]


def test_a_long_conversation_opens_on_its_newest_page_and_pages_back_to_its_first_message(chat, history, env):
    """Opening reads the newest READ_PAGE messages; `before` reads each earlier page until `hasOlder` is false."""
    import os

    from lib import settings, stores
    from lib.conversations import READ_PAGE

    conversation = say(chat, "Question 0").json()["conversationId"]
    user_id = jwt.decode(ALICE["Authorization"].split()[1], options={"verify_signature": False})["sub"]
    store = stores.open_store(settings.history(os.environ))
    more = [{"role": ("user", "assistant")[i % 2], "content": f"Message {i}"} for i in range(2 * READ_PAGE + 48)]
    store.record_messages(user_id, conversation, "Question 0", more)
    everything = ["Question 0", "Echo: Question 0"] + [m["content"] for m in more]

    opened = call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=ALICE).json()
    assert ([m["content"] for m in opened["messages"]], opened["hasOlder"]) == (everything[-READ_PAGE:], True)
    seen, page = opened["messages"], opened
    while page["hasOlder"]:
        page = call(chat, "GET", f"{CHAT}?conversationId={conversation}&before={seen[0]['id']}", headers=ALICE).json()
        assert 0 < len(page["messages"]) <= READ_PAGE
        seen = page["messages"] + seen
    assert [m["content"] for m in seen] == everything


def test_a_poll_reads_what_follows_a_message_and_says_when_more_follow(chat, history):
    from lib.conversations import POLL_PAGE

    conversation = say(chat, "Bonjour").json()["conversationId"]
    first = call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=ALICE).json()
    assert first["hasOlder"] is False and "hasNewer" not in first
    last = first["messages"][-1]["id"]
    idle = call(chat, "GET", f"{CHAT}?conversationId={conversation}&after={last}", headers=ALICE).json()
    assert (idle["messages"], idle["hasNewer"]) == ([], False)
    say(chat, "Encore", conversationId=conversation)
    polled = call(chat, "GET", f"{CHAT}?conversationId={conversation}&after={last}", headers=ALICE).json()
    assert [m["content"] for m in polled["messages"]] == ["Encore", "Echo: Encore"]
    assert polled["hasNewer"] is False and len(polled["messages"]) <= POLL_PAGE


@pytest.mark.parametrize("query, field", [
    ("before=abc", "before"), ("before=-1", "before"), ("before=1&after=1", "before"),
])
def test_a_bad_page_cursor_is_422_naming_it(chat, history, query, field):
    conversation = say(chat, "Bonjour").json()["conversationId"]
    refused = call(chat, "GET", f"{CHAT}?conversationId={conversation}&{query}", headers=ALICE)
    assert (refused.status, refused.json()["error"]["field"]) == (422, field)


def test_before_needs_a_conversation(chat, history):
    refused = call(chat, "GET", f"{CHAT}?before=5", headers=ALICE)
    assert (refused.status, refused.json()["error"]["field"]) == (422, "conversationId")
