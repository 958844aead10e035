"""The client's rights: GET /api/me/data is everything kept about them (JSON and Markdown in one zip) and nobody
else's words; DELETE /api/me/data erases all of theirs, leaves the rooms they were in and keeps what others
wrote there; on each store, and over the real PostgREST as the browser reads it."""

import io
import json
import zipfile
from urllib.parse import urlsplit

import pytest

from lib import audit
from tests.firm import People, hosted, say, sign_in_with_supabase
from tests.helpers import call

DATA, MEMBERS = "/api/me/data", "/api/groupchat/members"


@pytest.fixture(scope="module")
def members():
    yield from hosted("groupchat/members.py")


@pytest.fixture(scope="module")
def data_port():
    yield from hosted("me/data.py")


class Scene:
    """Alice's own conversation and her room with Bob; Bob's room with Alice; each wrote in both rooms."""

    def __init__(self, people, chat, members):
        self.people, self.chat = people, chat
        self.alone = say(chat, people.headers["alice"], "Alice seule").json()["conversationId"]
        self.alices_room = self.room("alice", "bob", "Alice ouvre", "Bob chez Alice")
        self.bobs_room = self.room("bob", "alice", "Bob ouvre", "Alice chez Bob", members=members)

    def room(self, owner, guest, first, second, members=None):
        self.members = members or self.members
        conversation = say(self.chat, self.people.headers[owner], first).json()["conversationId"]
        invite = call(self.members, "POST", MEMBERS, {"conversationId": conversation},
                      self.people.headers[owner]).json()["invite"]
        call(self.members, "POST", MEMBERS, {"invite": invite}, self.people.headers[guest])
        assert say(self.chat, self.people.headers[guest], second, conversationId=conversation).status == 200
        return conversation

    def read(self, who, conversation):
        reply = call(self.chat, "GET", f"/api/groupchat/chat?conversationId={conversation}",
                     headers=self.people.headers[who])
        return [m["content"] for m in reply.json()["messages"]] if reply.status == 200 else reply.status


@pytest.fixture
def scene(backend, env, fake_openai, chat, members):
    sign_in_with_supabase(env)
    env.setenv("CHAT_SYSTEM_PROMPT", "")
    Scene.members = members
    return Scene(People(backend, alice={"user_metadata": {"full_name": "Alice Martin"}}, bob={}), chat, members)


def download(port, headers) -> dict[str, str]:
    """The zip's files, read as the browser saves it."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", DATA, headers=headers)
    reply = connection.getresponse()
    raw = reply.read()
    connection.close()
    assert reply.status == 200 and reply.getheader("Content-Type") == "application/zip", raw[:300]
    assert 'filename="mes-donnees.zip"' in reply.getheader("Content-Disposition")
    with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
        return {name: bundle.read(name).decode() for name in bundle.namelist()}


def test_the_export_holds_everything_of_theirs_and_no_one_elses_words(scene, data_port):
    files = download(data_port, scene.people.headers["alice"])
    assert sorted(files) == ["mes-donnees.json", "mes-donnees.md"]
    data = json.loads(files["mes-donnees.json"])
    assert data["person"] == {"userId": scene.people.ids["alice"], "name": "Alice Martin"}
    texts = {c["id"]: [m["content"] for m in c["messages"] if m["role"] == "user"] for c in data["conversations"]}
    assert texts == {scene.alone: ["Alice seule"], scene.alices_room: ["Alice ouvre"]}
    assert [m["content"] for m in data["roomMessages"]] == ["Alice chez Bob"]
    assert [u["messages"] for u in data["usage"]] in ([], [3])  # usage rows, once it is counted
    for words in ("Bob chez Alice", "Bob ouvre"):
        assert words not in files["mes-donnees.json"] and words not in files["mes-donnees.md"]
    assert "# Mes données — Alice Martin" in files["mes-donnees.md"] and "Alice chez Bob" in files["mes-donnees.md"]


def test_erasing_takes_all_of_theirs_and_leaves_others_words_in_the_rooms(scene, data_port, backend):
    refused = call(data_port, "DELETE", DATA, {}, scene.people.headers["alice"])
    assert (refused.status, refused.json()["error"]["field"]) == (422, "confirm")
    reply = call(data_port, "DELETE", DATA, {"confirm": "erase"}, scene.people.headers["alice"])
    assert reply.status == 200 and reply.json()["erased"] is True, reply.text

    assert scene.read("alice", scene.alone) == 404
    assert scene.read("alice", scene.bobs_room) == 404  # she left Bob's room
    bobs = scene.read("bob", scene.bobs_room)
    assert "Bob ouvre" in bobs and "Alice chez Bob" not in bobs
    alices = scene.read("bob", scene.alices_room)  # her room stays for Bob, without her words or replies to them
    assert alices == ["Bob chez Alice"]
    data = json.loads(download(data_port, scene.people.headers["alice"])["mes-donnees.json"])
    assert [m for c in data["conversations"] for m in c["messages"] if m["role"] == "user"] == []
    assert data["roomMessages"] == [] and data["usage"] == []
    kinds = [e["kind"] for e in backend.store().audit_events(None, None, None, 10,
                                                             audit.hashed(scene.people.ids["alice"]))]
    assert kinds[:2] == ["data_exported", "data_erased"]


@pytest.mark.stores("supabase")
def test_over_postgrest_after_erasure_she_reads_nothing_and_bob_still_reads_his_room(scene, data_port, backend):
    rest = backend.postgrest
    port = urlsplit(rest.url).port

    def browser(who):
        reply = call(port, "GET", "/rest/v1/messages?select=content", headers=rest.as_user(scene.people.ids[who]))
        assert reply.status == 200, reply.text
        return {row["content"] for row in reply.json()}

    hers = {"Alice seule", "Echo: Alice seule", "Alice ouvre", "Echo: Alice ouvre", "Alice chez Bob"}
    assert hers <= browser("alice")
    assert call(data_port, "DELETE", DATA, {"confirm": "erase"}, scene.people.headers["alice"]).status == 200
    assert not hers & browser("alice")  # the room she owns stays for Bob: she sees only his words there
    assert browser("alice") <= {"Bob chez Alice"}
    assert {"Bob ouvre", "Echo: Bob ouvre", "Bob chez Alice"} <= browser("bob") and not hers & browser("bob")


@pytest.mark.stores("supabase")
def test_an_export_is_whole_past_postgrests_max_rows(store, new_user, backend):
    import uuid

    import psycopg

    owner, member = new_user(), new_user()
    conversation = str(uuid.uuid4())
    store.record_turn(owner, conversation, "Budget", "Question", "Réponse")
    with psycopg.connect(backend.postgres.dsn, autocommit=True) as db:
        db.execute("insert into messages (conversation_id, user_id, role, content, author_id, author_name) "
                   "select %s, %s, 'user', 'message ' || n, %s, 'Member' from generate_series(1, 1001) n",
                   (conversation, owner, member))
    room_messages = store.export_user(member)["roomMessages"]
    assert [m["content"] for m in room_messages[-2:]] == ["message 1000", "message 1001"]
    assert len(room_messages) == 1001
