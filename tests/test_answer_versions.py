"""Answer versions and edited questions (issue 27), on both stores: regenerate and edit keep what they replace as an
earlier version, a version is chosen through the API, and the model's context is always the chosen branch."""

import uuid

import pytest

from lib import settings, stores
from tests.helpers import User, call, open_stream, read_event

CHAT = "/api/groupchat/chat"




def seeded(user: User, *turns: tuple[str, str]) -> str:
    conversation = str(uuid.uuid4())
    for question, answer in turns:
        stores.open_store(settings.history()).record_turn(user.id, conversation, "Budget", question, answer)
    return conversation


def post(port, user, body):
    return call(port, "POST", CHAT, body, user.headers)


def shown(port, conversation, user) -> list[dict]:
    reply = call(port, "GET", f"{CHAT}?conversationId={conversation}", headers=user.headers)
    assert reply.status == 200, reply.text
    return reply.json()["messages"]


def texts(messages) -> list[str]:
    return [m["content"] for m in messages]


def sent(fake_openai) -> list[str]:
    """What the last chat request gave the model: each message's content."""
    return [m["content"] for m in fake_openai.requests[-1]["body"]["messages"]]


# --- answer versions ---------------------------------------------------------------------------------------

def test_regenerate_twice_keeps_three_versions_and_the_chosen_one_is_the_context(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"), ("Q2", "A2 première"))
    first = shown(chat, conversation, alice)[-1]
    for _ in range(2):
        assert post(chat, alice, {"conversationId": conversation, "regenerate": True}).status == 200
        assert sent(fake_openai) == ["Q1", "A1", "Q2"]
    messages = shown(chat, conversation, alice)
    assert texts(messages) == ["Q1", "A1", "Q2", "Echo: Q2"]
    versions = messages[-1]["versions"]
    assert (versions["index"], versions["count"], versions["ids"][0]) == (3, 3, first["id"])
    assert all("versions" not in m for m in messages[:3])

    chosen = post(chat, alice, {"conversationId": conversation, "chooseVersion": first["id"]})
    assert chosen.status == 200, chosen.text
    assert texts(chosen.json()["messages"]) == ["Q1", "A1", "Q2", "A2 première"]  # the conversation as GET reads it
    again = shown(chat, conversation, alice)
    assert texts(again) == ["Q1", "A1", "Q2", "A2 première"]
    assert again[-1]["versions"] == {**versions, "index": 1}

    assert post(chat, alice, {"conversationId": conversation, "message": "Q3"}).status == 200
    assert sent(fake_openai) == ["Q1", "A1", "Q2", "A2 première", "Q3"]  # the next turn builds on the chosen one
    assert texts(shown(chat, conversation, alice)) == ["Q1", "A1", "Q2", "A2 première", "Q3", "Echo: Q3"]


def test_a_regenerate_builds_on_the_chosen_version_not_the_newest(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1 ancienne"))
    old = shown(chat, conversation, alice)[1]["id"]
    post(chat, alice, {"conversationId": conversation, "regenerate": True})
    post(chat, alice, {"conversationId": conversation, "chooseVersion": old})
    post(chat, alice, {"conversationId": conversation, "message": "Q2"})
    assert post(chat, alice, {"conversationId": conversation, "regenerate": True}).status == 200
    assert sent(fake_openai) == ["Q1", "A1 ancienne", "Q2"]
    messages = shown(chat, conversation, alice)
    assert texts(messages) == ["Q1", "A1 ancienne", "Q2", "Echo: Q2"]
    assert [m.get("versions", {}).get("count") for m in messages] == [None, 2, None, 2]


def test_a_streamed_regenerate_is_a_new_version_too(chat, users):
    alice, _ = users
    conversation = seeded(alice, ("Combien ?", "Ancienne"))
    _, response = open_stream(chat, CHAT, {"conversationId": conversation, "regenerate": True, "stream": True},
                              alice.headers)
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(read_event(response))
    assert events[-1]["type"] == "done" and events[-1]["saved"] is True
    last = shown(chat, conversation, alice)[-1]
    assert (last["content"], last["versions"]["index"], last["versions"]["count"]) == ("Echo: Combien ?", 2, 2)


# --- edited questions --------------------------------------------------------------------------------------

def test_editing_a_question_continues_from_there_and_keeps_what_followed(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"), ("Q2", "A2"), ("Q3", "A3"))
    before = shown(chat, conversation, alice)
    edited = post(chat, alice, {"conversationId": conversation, "editOf": before[2]["id"], "message": "Q2 bis"})
    assert edited.status == 200, edited.text
    assert (edited.json()["message"], edited.json()["saved"]) == ("Echo: Q2 bis", True)
    assert sent(fake_openai) == ["Q1", "A1", "Q2 bis"]  # only what came before the question
    after = shown(chat, conversation, alice)
    assert texts(after) == ["Q1", "A1", "Q2 bis", "Echo: Q2 bis"]
    assert after[2]["versions"] == {"index": 2, "count": 2, "ids": [before[2]["id"], after[2]["id"]]}
    assert [m["id"] for m in after[:2]] == [m["id"] for m in before[:2]]

    post(chat, alice, {"conversationId": conversation, "message": "Q4"})
    assert sent(fake_openai) == ["Q1", "A1", "Q2 bis", "Echo: Q2 bis", "Q4"]

    back = post(chat, alice, {"conversationId": conversation, "chooseVersion": before[2]["id"]})
    assert texts(back.json()["messages"]) == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]  # nothing was lost
    post(chat, alice, {"conversationId": conversation, "message": "Q5"})
    assert sent(fake_openai) == ["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q5"]

    again = post(chat, alice, {"conversationId": conversation, "chooseVersion": after[2]["id"]})
    assert texts(again.json()["messages"]) == ["Q1", "A1", "Q2 bis", "Echo: Q2 bis", "Q4", "Echo: Q4"]


def test_each_version_keeps_the_versions_chosen_under_it(chat, users):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"), ("Q2", "A2"))
    q1, _, q2, a2 = shown(chat, conversation, alice)
    post(chat, alice, {"conversationId": conversation, "regenerate": True})  # A2 has two versions, the new shown
    post(chat, alice, {"conversationId": conversation, "chooseVersion": a2["id"]})  # the old chosen again
    post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": "Q1 bis"})
    assert texts(shown(chat, conversation, alice)) == ["Q1 bis", "Echo: Q1 bis"]
    first = shown(chat, conversation, alice)[0]
    assert first["versions"]["count"] == 2  # the first question has versions too
    back = post(chat, alice, {"conversationId": conversation, "chooseVersion": q1["id"]}).json()["messages"]
    assert texts(back) == ["Q1", "A1", "Q2", "A2"]  # the earlier version, with the reply last chosen under it
    assert back[3]["versions"]["index"] == 1 and back[0]["versions"]["index"] == 1


def test_a_streamed_edit_is_stored_as_a_version(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"))
    q1 = shown(chat, conversation, alice)[0]
    _, response = open_stream(chat, CHAT, {"conversationId": conversation, "editOf": q1["id"], "message": "Q1 bis",
                                           "stream": True}, alice.headers)
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(read_event(response))
    assert events[-1]["type"] == "done" and events[-1]["saved"] is True
    assert texts(shown(chat, conversation, alice)) == ["Q1 bis", "Echo: Q1 bis"]


def test_an_edit_goes_through_the_checks_of_any_message(chat, users, fake_openai, env):
    alice, _ = users
    env.setenv("CHAT_MAX_MESSAGE_CHARS", "20")
    conversation = seeded(alice, ("Q1", "A1"))
    q1 = shown(chat, conversation, alice)[0]
    for message, problem in (("x" * 21, "at most"), ("   ", "blank"), ("a\x00b", "NUL")):
        refused = post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": message})
        assert (refused.status, refused.json()["error"]["field"]) == (422, "message")
        assert problem in refused.json()["error"]["message"]
    assert not fake_openai.requests
    assert texts(shown(chat, conversation, alice)) == ["Q1", "A1"]


def test_an_edit_is_masked_for_the_model_and_stored_as_typed(chat, users, fake_openai):
    alice, _ = users
    iban = "FR7630006000011234567890189"
    conversation = seeded(alice, ("Q1", "A1"))
    q1 = shown(chat, conversation, alice)[0]
    post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": f"Mon IBAN {iban}"})
    assert sent(fake_openai) == ["Mon IBAN [IBAN_1]"]
    assert shown(chat, conversation, alice)[0]["content"] == f"Mon IBAN {iban}"


@pytest.mark.stores("sqlite")
def test_an_edit_is_moderated_a_regenerate_is_not(chat, users, fake_openai, env):
    alice, _ = users
    env.setenv("MODERATION", "on")
    conversation = seeded(alice, ("Q1", "A1"))
    q1 = shown(chat, conversation, alice)[0]
    refused = post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": "nuire #flagged"})
    assert (refused.status, refused.error_code) == (422, "content_flagged")
    assert [r["path"] for r in fake_openai.requests] == ["/v1/moderations"]
    assert texts(shown(chat, conversation, alice)) == ["Q1", "A1"]


# --- refusals ----------------------------------------------------------------------------------------------

def test_edit_and_choose_refuse_what_is_not_the_callers(chat, users, fake_openai):
    alice, bob = users
    conversation = seeded(alice, ("Q1", "A1"))
    other = seeded(alice, ("Autre", "Réponse"))
    q1, a1 = shown(chat, conversation, alice)
    elsewhere = shown(chat, other, alice)[0]
    for body, status, field in (
        ({"editOf": a1["id"], "message": "x"}, 422, "editOf"),  # a reply is regenerated, not edited
        ({"editOf": elsewhere["id"], "message": "x"}, 422, "editOf"),
        ({"editOf": 999999, "message": "x"}, 422, "editOf"),
        ({"editOf": q1["id"]}, 422, "message"),
        ({"editOf": q1["id"], "message": "x", "regenerate": True}, 422, "regenerate"),
        ({"editOf": "1", "message": "x"}, 422, "editOf"),
        ({"editOf": 0, "message": "x"}, 422, "editOf"),
        ({"chooseVersion": elsewhere["id"]}, 404, None),
        ({"chooseVersion": True}, 422, "chooseVersion"),
        ({"chooseVersion": q1["id"], "message": "x"}, 422, "message"),
    ):
        refused = post(chat, alice, {"conversationId": conversation, **body})
        assert refused.status == status, (body, refused.text)
        if field:
            assert refused.json()["error"]["field"] == field, body
    assert post(chat, alice, {"editOf": q1["id"], "message": "x"}).json()["error"]["field"] == "conversationId"
    assert post(chat, alice, {"chooseVersion": q1["id"]}).json()["error"]["field"] == "conversationId"
    assert post(chat, bob, {"conversationId": conversation, "editOf": q1["id"], "message": "x"}).status == 404
    assert post(chat, bob, {"conversationId": conversation, "chooseVersion": q1["id"]}).status == 404
    assert not fake_openai.requests
    assert texts(shown(chat, conversation, alice)) == ["Q1", "A1"]


def test_versions_reach_no_other_user(users):
    alice, bob = users
    conversation = seeded(alice, ("Q1", "A1"))
    store = stores.open_store(settings.history())
    q1, _ = store.messages(alice.id, conversation)
    with pytest.raises(stores.ConversationNotFound):
        store.record_version(bob.id, conversation, q1["id"], [{"role": "user", "content": "x"}])
    assert store.choose_version(bob.id, conversation, q1["id"]) is False
    assert store.versions(bob.id, conversation) == {}
    assert [m["content"] for m in store.messages(alice.id, conversation)] == ["Q1", "A1"]


def test_nothing_is_lost_the_export_keeps_every_version(chat, users):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"))
    q1 = shown(chat, conversation, alice)[0]
    post(chat, alice, {"conversationId": conversation, "regenerate": True})
    post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": "Q1 bis"})
    exported = stores.open_store(settings.history()).export_user(alice.id)
    [kept] = [c for c in exported["conversations"] if c["id"] == conversation]
    assert sorted(m["content"] for m in kept["messages"]) == sorted(["Q1", "A1", "Echo: Q1", "Q1 bis",
                                                                     "Echo: Q1 bis"])


def test_a_rooms_messages_have_no_versions(chat, users, fake_openai):
    alice, _ = users
    conversation = str(uuid.uuid4())
    store = stores.open_store(settings.history())
    store.create_room(alice.id, conversation, "Salle", "Alice")
    store.record_room_turn(alice.id, conversation, alice.id, "Alice", "Q1", "A1")
    q1, a1 = shown(chat, conversation, alice)
    for body, field in (({"editOf": q1["id"], "message": "x"}, "editOf"),
                        ({"chooseVersion": a1["id"]}, "chooseVersion"), ({"regenerate": True}, "regenerate")):
        refused = post(chat, alice, {"conversationId": conversation, **body})
        assert (refused.status, refused.json()["error"]["field"]) == (422, field)
    assert not fake_openai.requests
    assert texts(shown(chat, conversation, alice)) == ["Q1", "A1"]


# --- stores made before versions ---------------------------------------------------------------------------

def test_a_sqlite_file_made_before_versions_is_upgraded_in_place(tmp_path):
    import sqlite3

    from lib.stores import sqlite as sqlite_store

    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as db:
        db.executescript(sqlite_store.SCHEMA)  # messages without parent_id, chosen, shown
        db.executemany("insert into conversations values (?, 'u', 't', 'x', 'x')", [("c1",), ("c2",)])
        db.executemany("insert into messages (conversation_id, user_id, role, content, created_at) "
                       "values (?, 'u', ?, ?, 'x')", [("c1", "user", "Q1"), ("c2", "user", "Autre"),
                                                      ("c1", "assistant", "A1"), ("c1", "user", "Q2"),
                                                      ("c1", "assistant", "A2")])
    store = sqlite_store.SqliteStore(path)
    q1, a1, q2, a2 = store.messages("u", "c1")
    store.record_version("u", "c1", q2["id"], [{"role": "user", "content": "Q2 bis"},
                                               {"role": "assistant", "content": "A2 bis"}])
    assert [m["content"] for m in store.messages("u", "c1")] == ["Q1", "A1", "Q2 bis", "A2 bis"]
    assert store.choose_version("u", "c1", q2["id"]) is True
    assert [m["content"] for m in store.messages("u", "c1")] == ["Q1", "A1", "Q2", "A2"]
    assert [m["content"] for m in store.messages("u", "c2")] == ["Autre"]


def test_the_versions_migration_upgrades_a_deployed_database():
    import psycopg

    from tests.standins.postgres import Postgres, all_migrations

    deployed = [m for m in all_migrations() if m.name < "20261207400000"]
    server = Postgres().start(migrations=deployed)
    try:
        user, conversation = str(uuid.uuid4()), str(uuid.uuid4())
        server.add_user(user)
        for question in ("Q1", "Q2"):
            server.execute(f"select public.record_turn('{user}', '{conversation}', 't', '{question}', 'A')")
        for migration in all_migrations()[len(deployed):]:
            server.apply(migration.read_text())
        with psycopg.connect(server.dsn) as db:
            rows = db.execute("select id, parent_id, chosen, shown from messages where conversation_id = %s "
                              "order by id", (conversation,)).fetchall()
            assert [row[1] for row in rows] == [None] + [row[0] for row in rows[:-1]]  # each follows the one before
            assert all(row[2] and row[3] for row in rows)
            q2 = rows[2][0]
            db.execute("select public.record_version(%s, %s, %s, %s::jsonb)",
                       (user, conversation, q2, '[{"role": "user", "content": "Q2 bis"}]'))
            assert db.execute("select content from messages where conversation_id = %s and shown order by id",
                              (conversation,)).fetchall() == [("Q1",), ("A",), ("Q2 bis",)]
    finally:
        server.stop()


def test_choosing_a_version_not_shown_shows_the_branch_it_is_on(chat, users):
    alice, _ = users
    conversation = seeded(alice, ("Q1", "A1"), ("Q2", "A2"))
    q1, _, _, a2 = shown(chat, conversation, alice)
    post(chat, alice, {"conversationId": conversation, "regenerate": True})  # A2 and its new version, under Q1
    post(chat, alice, {"conversationId": conversation, "editOf": q1["id"], "message": "Q1 bis"})  # all of it hidden
    back = post(chat, alice, {"conversationId": conversation, "chooseVersion": a2["id"]})
    assert texts(back.json()["messages"]) == ["Q1", "A1", "Q2", "A2"]  # its question's version comes back with it
    assert back.json()["messages"][0]["versions"]["index"] == 1


def test_search_finds_the_shown_branch_only(chat, users):
    """An earlier version is kept, but search finds what the conversation shows, as the page opens it."""
    alice, _ = users
    conversation = seeded(alice, ("Budget vacances", "R1"))
    question = shown(chat, conversation, alice)[0]
    assert post(chat, alice, {"conversationId": conversation, "editOf": question["id"],
                              "message": "Budget travaux"}).status == 200

    def found(words):
        reply = call(chat, "GET", f"{CHAT}?q={words}", headers=alice.headers)
        assert reply.status == 200, reply.text
        return [(c["id"], c["snippet"]) for c in reply.json()["conversations"]]

    assert found("travaux") == [(conversation, "Echo: Budget travaux")]  # the newest message that has it
    assert found("vacances") == []
