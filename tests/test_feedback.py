"""Feedback on replies: each person's thumbs up or down and comment on a reply they can read (rooms: each member
their own), read back with the conversation's, shown to admins (JSON and CSV), never sent to OpenAI, and gone
with retention, a regenerated reply and the person's erasure; on each store, and over the real PostgREST."""

import json
import uuid
from urllib.parse import urlsplit

import pytest

from tests.firm import ADMIN, People, hosted, say, sign_in_with_supabase
from tests.helpers import call

FEEDBACK, MEMBERS, ADMIN_FEEDBACK = "/api/groupchat/feedback", "/api/groupchat/members", "/api/admin/feedback"


@pytest.fixture(scope="module")
def feedback_port():
    yield from hosted("groupchat/feedback.py")


@pytest.fixture(scope="module")
def members_port():
    yield from hosted("groupchat/members.py")


@pytest.fixture(scope="module")
def admin_port():
    yield from hosted("admin/feedback.py")


@pytest.fixture(scope="module")
def data_port():
    yield from hosted("me/data.py")


@pytest.fixture
def people(backend, env, fake_openai):
    sign_in_with_supabase(env)
    return People(backend, alice={"user_metadata": {"full_name": "Alice Martin"}}, bob={}, eve={}, root=ADMIN)


def conversation_of(chat, people, who="alice", message="Quel est le taux du livret A ?", **fields):
    """A turn's conversation id and its reply's message id."""
    reply = say(chat, people.headers[who], message, **fields)
    assert reply.status == 200, reply.text
    conversation = reply.json()["conversationId"]
    read = call(chat, "GET", f"/api/groupchat/chat?conversationId={conversation}", headers=people.headers[who])
    return conversation, [m["id"] for m in read.json()["messages"] if m["role"] == "assistant"][-1]


def rate(port, people, who, conversation, message, rating, comment=None):
    body = {"conversationId": conversation, "messageId": message, "rating": rating}
    if comment is not None:
        body["comment"] = comment
    return call(port, "POST", FEEDBACK, body, people.headers[who])


def ratings(port, people, who, conversation) -> list[dict]:
    reply = call(port, "GET", f"{FEEDBACK}?conversationId={conversation}", headers=people.headers[who])
    assert reply.status == 200, reply.text
    return reply.json()["feedback"]


def test_a_rating_and_its_comment_are_kept_changed_and_taken_back(people, chat, feedback_port):
    conversation, reply = conversation_of(chat, people)
    assert ratings(feedback_port, people, "alice", conversation) == []
    saved = rate(feedback_port, people, "alice", conversation, reply, "down", "  Le taux date de 2023.  ")
    assert saved.status == 200, saved.text
    assert saved.json() == {"conversationId": conversation, "messageId": reply, "rating": "down",
                            "comment": "Le taux date de 2023."}
    assert ratings(feedback_port, people, "alice", conversation) == [
        {"messageId": reply, "rating": "down", "comment": "Le taux date de 2023."}]
    assert rate(feedback_port, people, "alice", conversation, reply, "up").status == 200
    assert ratings(feedback_port, people, "alice", conversation) == [
        {"messageId": reply, "rating": "up", "comment": ""}]
    assert rate(feedback_port, people, "alice", conversation, reply, None).status == 200
    assert ratings(feedback_port, people, "alice", conversation) == []


def test_in_a_room_each_member_has_their_own_rating_and_outsiders_none(people, chat, feedback_port, members_port):
    conversation, reply = conversation_of(chat, people)
    invite = call(members_port, "POST", MEMBERS, {"conversationId": conversation}, people.headers["alice"]).json()
    assert call(members_port, "POST", MEMBERS, {"invite": invite["invite"]}, people.headers["bob"]).status == 200
    assert rate(feedback_port, people, "alice", conversation, reply, "up").status == 200
    assert rate(feedback_port, people, "bob", conversation, reply, "down", "Trop vague").status == 200
    assert ratings(feedback_port, people, "alice", conversation) == [{"messageId": reply, "rating": "up",
                                                                     "comment": ""}]
    assert ratings(feedback_port, people, "bob", conversation) == [{"messageId": reply, "rating": "down",
                                                                   "comment": "Trop vague"}]
    refused = rate(feedback_port, people, "eve", conversation, reply, "down", "spam")
    assert refused.status == 404 and refused.json()["error"]["code"] == "conversation_not_found"
    read = call(feedback_port, "GET", f"{FEEDBACK}?conversationId={conversation}", headers=people.headers["eve"])
    assert read.status == 404 and read.json()["error"]["code"] == "conversation_not_found"


def test_only_an_assistant_reply_of_that_conversation_can_be_rated(people, chat, feedback_port):
    conversation, reply = conversation_of(chat, people)
    other, others_reply = conversation_of(chat, people, message="Et le PEL ?")
    for message in (reply - 1, others_reply, 2**53 - 1):  # the question, another conversation's reply, none
        refused = rate(feedback_port, people, "alice", conversation, message, "up")
        assert refused.status == 404 and refused.json()["error"]["code"] == "message_not_found", message
    assert ratings(feedback_port, people, "alice", conversation) == []


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("body, field", [
    ({"messageId": 1, "rating": "up"}, "conversationId"),
    ({"conversationId": "nope", "messageId": 1, "rating": "up"}, "conversationId"),
    ({"conversationId": "{c}", "rating": "up"}, "messageId"),
    ({"conversationId": "{c}", "messageId": "1", "rating": "up"}, "messageId"),
    ({"conversationId": "{c}", "messageId": 0, "rating": "up"}, "messageId"),
    ({"conversationId": "{c}", "messageId": True, "rating": "up"}, "messageId"),
    ({"conversationId": "{c}", "messageId": 1}, "rating"),
    ({"conversationId": "{c}", "messageId": 1, "rating": "meh"}, "rating"),
    ({"conversationId": "{c}", "messageId": 1, "rating": "down", "comment": "x" * 2001}, "comment"),
    ({"conversationId": "{c}", "messageId": 1, "rating": "down", "comment": "nul\x00"}, "comment"),
    ({"conversationId": "{c}", "messageId": 1, "rating": "down", "comment": 3}, "comment"),
    ({"conversationId": "{c}", "messageId": 1, "rating": "up", "score": 5}, "score"),
])
def test_bad_input_is_a_422_naming_the_field(people, feedback_port, body, field):
    body = json.loads(json.dumps(body).replace("{c}", str(uuid.uuid4())))
    reply = call(feedback_port, "POST", FEEDBACK, body, people.headers["alice"])
    assert reply.status == 422 and reply.json()["error"]["field"] == field, reply.text


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("query", ["", "?conversationId=nope"])
def test_reading_without_a_conversation_id_is_a_422(people, feedback_port, query):
    reply = call(feedback_port, "GET", FEEDBACK + query, headers=people.headers["alice"])
    assert reply.status == 422 and reply.json()["error"]["field"] == "conversationId"


@pytest.mark.stores("sqlite")
def test_an_unknown_conversation_is_a_404_and_a_caller_without_a_credential_a_401(people, feedback_port):
    refused = rate(feedback_port, people, "alice", str(uuid.uuid4()), 1, "up")
    assert refused.status == 404 and refused.json()["error"]["code"] == "conversation_not_found"
    anonymous = call(feedback_port, "POST", FEEDBACK, {"conversationId": str(uuid.uuid4()), "messageId": 1,
                                                       "rating": "up"})
    assert anonymous.status == 401


def test_feedback_never_reaches_openai(people, chat, feedback_port, fake_openai):
    conversation, reply = conversation_of(chat, people)
    comment = f"commentaire-{uuid.uuid4().hex}"
    assert rate(feedback_port, people, "alice", conversation, reply, "down", comment).status == 200
    assert say(chat, people.headers["alice"], "Et ensuite ?", conversationId=conversation).status == 200
    assert say(chat, people.headers["alice"], "Encore ?", conversationId=conversation, stream=True).status == 200
    sent = [json.dumps(request["body"], ensure_ascii=False) for request in fake_openai.requests]
    assert len(sent) >= 3 and any("Et ensuite ?" in body for body in sent)
    assert not any(comment in body for body in sent)


def test_admins_read_everyones_feedback_and_download_it_and_others_get_404(people, chat, feedback_port, admin_port,
                                                                          backend):
    conversation, reply = conversation_of(chat, people)
    assert rate(feedback_port, people, "alice", conversation, reply, "down", "=HYPERLINK(\"x\")").status == 200
    found = call(admin_port, "GET", ADMIN_FEEDBACK, headers=people.headers["root"])
    assert found.status == 200, found.text
    body = found.json()
    mine = [row for row in body["feedback"] if row["conversation_id"] == conversation]
    assert [(r["rating"], r["comment"], r["name"], r["user_id"], r["message_id"]) for r in mine] == [
        ("down", "=HYPERLINK(\"x\")", "Alice Martin", people.ids["alice"], reply)]
    assert body["down"] >= 1
    assert backend.store().audit_events(None, None, "admin_read", 10)[0]["detail"] == {"page": "feedback"}
    csv = call(admin_port, "GET", ADMIN_FEEDBACK + "?format=csv", headers=people.headers["root"])
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.text.startswith("\ufeffat,rating,comment,name,user_id,conversation_id,message_id\r\n")
    assert "'=HYPERLINK" in csv.text and conversation in csv.text
    for who in ("alice", "bob"):
        assert call(admin_port, "GET", ADMIN_FEEDBACK, headers=people.headers[who]).status == 404
    assert call(admin_port, "GET", ADMIN_FEEDBACK).status == 404
    bad = call(admin_port, "GET", ADMIN_FEEDBACK + "?from=yesterday", headers=people.headers["root"])
    assert bad.status == 422 and bad.json()["error"]["field"] == "from"
    empty = call(admin_port, "GET", ADMIN_FEEDBACK + "?from=2001-01-01&to=2001-01-02", headers=people.headers["root"])
    assert empty.json()["feedback"] == []


def test_the_person_exports_and_erases_their_feedback(people, chat, feedback_port, data_port, backend):
    import http.client
    import io
    import zipfile

    conversation, reply = conversation_of(chat, people)
    assert rate(feedback_port, people, "alice", conversation, reply, "down", "Chiffres faux").status == 200
    connection = http.client.HTTPConnection("127.0.0.1", data_port, timeout=30)
    connection.request("GET", "/api/me/data", headers=people.headers["alice"])
    with zipfile.ZipFile(io.BytesIO(connection.getresponse().read())) as bundle:
        data = json.loads(bundle.read("mes-donnees.json"))
        readable = bundle.read("mes-donnees.md").decode()
    connection.close()
    assert [(f["message_id"], f["rating"], f["comment"]) for f in data["feedback"]] == [
        (reply, "down", "Chiffres faux")]
    assert "Mes avis sur les réponses" in readable and "Chiffres faux" in readable
    erased = call(data_port, "DELETE", "/api/me/data", {"confirm": "erase"}, people.headers["alice"])
    assert erased.status == 200 and erased.json()["feedback"] >= 0, erased.text
    assert backend.store().user_feedback(people.ids["alice"]) == []


def test_a_persons_erasure_takes_their_ratings_in_others_rooms(store, new_user):
    owner, member = new_user(), new_user()
    conversation = str(uuid.uuid4())
    store.record_turn(owner, conversation, "Budget", "Question", "Réponse")
    reply = store.messages(owner, conversation)[-1]["id"]
    invite = uuid.uuid4().hex
    store.create_invite(owner, conversation, "Owner", invite, "2999-01-01T00:00:00+00:00")
    store.accept_invite(invite, member, "Member")
    assert store.set_feedback(member, "Member", conversation, reply, "down", "Non")
    assert store.set_feedback(owner, "Owner", conversation, reply, "up", "")
    assert store.erase_feedback(member) == 1
    assert store.feedback(owner, conversation) == [{"messageId": reply, "rating": "up", "comment": ""}]
    assert store.feedback(member, conversation) == []


def test_retention_takes_the_ratings_with_it_and_a_regenerated_reply_starts_unrated(store, new_user):
    user = new_user()
    kept, old = str(uuid.uuid4()), str(uuid.uuid4())
    store.record_turn(user, old, "Ancienne", "Question", "Réponse")
    store.record_turn(user, kept, "Budget", "Question", "Réponse")
    old_reply = store.messages(user, old)[-1]["id"]
    reply = store.messages(user, kept)[-1]["id"]
    assert store.set_feedback(user, "", old, old_reply, "up", "")
    assert store.set_feedback(user, "", kept, reply, "down", "Faux")
    store.prune_history(store.conversation(user, old)["updatedAt"][:10] + "T00:00:00+00:00")  # nothing yet
    assert len(store.user_feedback(user)) == 2
    from datetime import datetime, timedelta
    cutoff = (datetime.fromisoformat(store.conversation(user, old)["updatedAt"]) + timedelta(microseconds=1))
    store.record_turn(user, kept, "Budget", "Encore", "Réponse 2")  # kept is active after the cutoff
    store.prune_history(cutoff.isoformat())
    assert [f["message_id"] for f in store.user_feedback(user)] == [reply]
    second = store.messages(user, kept)[-1]["id"]
    assert store.set_feedback(user, "", kept, second, "up", "")
    store.record_version(user, kept, second, [{"role": "assistant", "content": "Réponse 2"}])  # regenerated
    newest = store.messages(user, kept)[-1]["id"]
    assert newest != second  # a new answer, even in the same words: unrated; the earlier version keeps its own
    assert {f["messageId"] for f in store.feedback(user, kept)} == {reply, second}


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/rest/v1/message_feedback", {"message_id": "{reply}", "user_id": "{me}", "conversation_id": "{c}",
                                           "rating": "up"}),
    ("PATCH", "/rest/v1/message_feedback?user_id=eq.{me}", {"rating": "down"}),
    ("DELETE", "/rest/v1/message_feedback?user_id=eq.{me}", None),
    ("POST", "/rest/v1/rpc/set_message_feedback", {"p_user_id": "{me}", "p_name": "x", "p_conversation_id": "{c}",
                                                   "p_message_id": "{reply}", "p_rating": "down", "p_comment": "x"}),
])
def test_over_postgrest_the_browser_reads_its_own_feedback_and_writes_none(postgrest, method, path, body):
    from lib.stores.supabase import SupabaseStore

    store = SupabaseStore(postgrest.url, postgrest.SERVICE_KEY, 5.0)
    me, other = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (me, other):
        postgrest.postgres.add_user(user)
    conversation = str(uuid.uuid4())
    store.record_turn(me, conversation, "Budget", "Question", "Réponse")
    reply = store.messages(me, conversation)[-1]["id"]
    assert store.set_feedback(me, "Moi", conversation, reply, "up", "Bien")
    port = urlsplit(postgrest.url).port
    mine = call(port, "GET", "/rest/v1/message_feedback?select=rating,comment", headers=postgrest.as_user(me))
    assert mine.status == 200 and mine.json() == [{"rating": "up", "comment": "Bien"}]
    assert call(port, "GET", "/rest/v1/message_feedback", headers=postgrest.as_user(other)).json() == []
    assert call(port, "GET", "/rest/v1/message_feedback", headers={"apikey": postgrest.ANON_KEY}).status == 401
    filled = json.loads(json.dumps(body).replace('"{reply}"', str(reply)).replace("{me}", me)
                        .replace("{c}", conversation)) if body else None
    tried = call(port, method, path.replace("{me}", me), filled, headers=postgrest.as_user(me))
    assert tried.status in (401, 403, 404) or (tried.status in (200, 204) and tried.text in ("", "[]")), tried.text
    assert store.feedback(me, conversation) == [{"messageId": reply, "rating": "up", "comment": "Bien"}]


def test_a_deleted_supabase_user_leaves_no_rating_in_others_rooms(postgrest):
    import psycopg

    from lib.stores.supabase import SupabaseStore

    store, postgres = SupabaseStore(postgrest.url, postgrest.SERVICE_KEY, 5.0), postgrest.postgres
    owner, member = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (owner, member):
        postgres.add_user(user)
    conversation = str(uuid.uuid4())
    store.record_turn(owner, conversation, "Budget", "Question", "Réponse")
    reply = store.messages(owner, conversation)[-1]["id"]
    invite = uuid.uuid4().hex
    store.create_invite(owner, conversation, "Owner", invite, "2999-01-01T00:00:00+00:00")
    store.accept_invite(invite, member, "Member")
    assert store.set_feedback(member, "Member", conversation, reply, "down", "Non")
    postgres.delete_user(member)  # as GoTrue does, in its own role
    with psycopg.connect(postgres.dsn) as db:
        assert db.execute("select count(*) from message_feedback where user_id = %s", (member,)).fetchone() == (0,)
