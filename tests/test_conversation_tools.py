"""Search, rename and regenerate: the conversation tools the dashboard uses, on every store alike."""

import uuid

import pytest

from lib import settings, stores
from tests.helpers import User, call, freeze_limit_clock, open_stream, read_event

CHAT = "/api/groupchat/chat"




def store():
    return stores.open_store(settings.history())


def seeded(user: User, title: str, *turns: tuple[str, str]) -> str:
    """A conversation of the user's, stored as if these turns had happened."""
    conversation = str(uuid.uuid4())
    for question, answer in turns:
        store().record_turn(user.id, conversation, title, question, answer)
    return conversation


def messages_of(port, conversation, user):
    reply = call(port, "GET", f"{CHAT}?conversationId={conversation}", headers=user.headers)
    assert reply.status == 200, reply.text
    return reply.json()["messages"]


def search(port, user, query):
    from urllib.parse import quote

    return call(port, "GET", f"{CHAT}?q={quote(query)}", headers=user.headers)


# --- search ------------------------------------------------------------------------------------------------

def test_search_finds_titles_and_message_text_of_the_callers_own_conversations(chat, users):
    alice, bob = users
    budget = seeded(alice, "Budget 2027", ("Quel budget pour 2027 ?", "Environ 40 000 euros d'épargne."))
    seeded(alice, "Assurance vie", ("Mon contrat ?", "Il est en unités de compte."))
    seeded(bob, "Épargne de Bob", ("Et mon épargne ?", "Votre épargne est à 3 %."))
    by_title = search(chat, alice, "budget").json()["conversations"]
    assert [(c["id"], c["title"]) for c in by_title] == [(budget, "Budget 2027")]
    by_text = search(chat, alice, "ÉPARGNE").json()["conversations"]  # case-insensitive, Bob's never shown
    assert [c["id"] for c in by_text] == [budget]
    assert "40 000 euros d'épargne" in by_text[0]["snippet"]
    assert search(chat, alice, "introuvable").json() == {"conversations": [], "nextCursor": None}


def test_search_is_literal_and_most_recent_first(chat, users):
    alice, _ = users
    older = seeded(alice, "Taux à 3 %", ("q", "a"))
    newer = seeded(alice, "Frais", ("Des frais de 3 % ?", "Oui, 3 % par an."))
    assert [c["id"] for c in search(chat, alice, "3 %").json()["conversations"]] == [newer, older]
    assert search(chat, alice, "_").json()["conversations"] == []  # not a wildcard
    assert search(chat, alice, "%%").json()["conversations"] == []
    assert search(chat, alice, "3%").json()["conversations"] == []


def test_a_title_match_has_no_snippet_and_a_long_message_is_cut_around_the_match(chat, users):
    alice, _ = users
    seeded(alice, "Retraite", ("q", "a"))
    long = "mot " * 200 + "dividende " + "fin " * 200
    seeded(alice, "Actions", ("q", long))
    found = {c["title"]: c["snippet"] for c in search(chat, alice, "retraite").json()["conversations"]}
    assert found == {"Retraite": None}
    snippet = search(chat, alice, "dividende").json()["conversations"][0]["snippet"]
    assert "dividende" in snippet and len(snippet) <= 122 and snippet.startswith("…") and snippet.endswith("…")


@pytest.mark.parametrize("query", ["", "   ", "x" * 201])
def test_a_blank_or_long_search_is_refused(chat, users, query):
    reply = search(chat, users[0], query)
    assert (reply.status, reply.json()["error"]["field"]) == (422, "q")


def test_search_with_a_conversation_id_is_refused(chat, users):
    reply = call(chat, "GET", f"{CHAT}?q=x&conversationId={uuid.uuid4()}", headers=users[0].headers)
    assert (reply.status, reply.json()["error"]["field"]) == (422, "q")


# --- rename ------------------------------------------------------------------------------------------------

def rename(port, user, conversation, body):
    return call(port, "PATCH", f"{CHAT}?conversationId={conversation}", body, user.headers)


def test_rename_sets_a_new_title_on_one_line(chat, users):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("q", "a"))
    reply = rename(chat, alice, conversation, {"title": "  Budget\n familial  2027 "})
    assert reply.status == 200
    assert reply.json() == {"conversationId": conversation, "title": "Budget familial 2027"}
    listed = call(chat, "GET", CHAT, headers=alice.headers).json()["conversations"]
    assert [c["title"] for c in listed] == ["Budget familial 2027"]


@pytest.mark.parametrize("body, field", [({"title": ""}, "title"), ({"title": " \n "}, "title"),
                                         ({"title": "x" * 201}, "title"), ({"title": 7}, "title"), ({}, "title"),
                                         ({"title": "ok", "pinned": True}, "pinned")])
def test_a_bad_title_is_refused_and_nothing_changes(chat, users, body, field):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("q", "a"))
    reply = rename(chat, alice, conversation, body)
    assert (reply.status, reply.json()["error"]["code"], reply.json()["error"]["field"]) == (
        422, "validation_error", field)
    assert store().conversation(alice.id, conversation)["title"] == "Budget"


def test_another_users_conversation_cannot_be_renamed(chat, users):
    alice, bob = users
    conversation = seeded(alice, "Privé", ("q", "a"))
    assert rename(chat, bob, conversation, {"title": "À moi"}).status == 404
    assert rename(chat, alice, str(uuid.uuid4()), {"title": "x"}).status == 404
    assert store().conversation(alice.id, conversation)["title"] == "Privé"


def test_a_200_character_title_is_kept_whole(chat, users):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("q", "a"))
    assert rename(chat, alice, conversation, {"title": "é" * 200}).status == 200
    assert store().conversation(alice.id, conversation)["title"] == "é" * 200


# --- regenerate --------------------------------------------------------------------------------------------

def test_regenerate_shows_a_new_last_reply_and_never_repeats_the_question(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("Premier ?", "Ancienne réponse 1"), ("Second ?", "Ancienne réponse 2"))
    before = messages_of(chat, conversation, alice)
    reply = call(chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True}, alice.headers)
    assert reply.status == 200, reply.text
    assert (reply.json()["message"], reply.json()["saved"]) == ("Echo: Second ?", True)
    sent = fake_openai.requests[-1]["body"]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "Premier ?"), ("assistant", "Ancienne réponse 1"), ("user", "Second ?")]
    after = messages_of(chat, conversation, alice)
    assert [(m["role"], m["content"]) for m in after] == [
        ("user", "Premier ?"), ("assistant", "Ancienne réponse 1"), ("user", "Second ?"),
        ("assistant", "Echo: Second ?")]
    assert [m["id"] for m in after[:3]] == [m["id"] for m in before[:3]]  # the question is not stored twice
    assert after[3]["versions"] == {"index": 2, "count": 2, "ids": [before[3]["id"], after[3]["id"]]}  # old kept


def test_a_streamed_regenerate_replaces_the_reply_too(chat, users):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    _, response = open_stream(chat, CHAT, {"conversationId": conversation, "regenerate": True, "stream": True},
                           alice.headers)
    events = []
    while not events or events[-1]["type"] not in ("done", "error"):
        events.append(read_event(response))
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Echo: Combien ?"
    assert [(m["role"], m["content"], m["status"]) for m in messages_of(chat, conversation, alice)] == [
        ("user", "Combien ?", "complete"), ("assistant", "Echo: Combien ?", "complete")]


def test_a_failed_regenerate_keeps_the_old_reply(chat, users, fake_openai):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    fake_openai.fail_next("500", "500")
    reply = call(chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True}, alice.headers)
    assert reply.status == 502
    assert [m["content"] for m in messages_of(chat, conversation, alice)] == ["Combien ?", "Ancienne"]


def test_a_regenerate_is_counted_against_the_token_budget_like_any_turn(chat, users, env):
    freeze_limit_clock(env)
    env.setenv("CHAT_DAILY_TOKEN_LIMIT", "30")
    alice, _ = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    replies = [call(chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True}, alice.headers)
               for _ in range(10)]
    statuses = [reply.status for reply in replies]
    assert statuses[0] == 200 and 429 in statuses  # a few tokens a regenerate: the budget runs out
    refused = replies[statuses.index(429)]
    assert refused.json()["error"]["limit"] == "tokens:day"
    assert set(statuses[statuses.index(429):]) == {429}
    assert [(m["role"], m["content"]) for m in messages_of(chat, conversation, alice)] == [
        ("user", "Combien ?"), ("assistant", "Echo: Combien ?")]


@pytest.mark.parametrize("body, field", [
    ({"regenerate": True}, "conversationId"),
    ({"regenerate": True, "conversationId": "{conversation}", "message": "encore"}, "message"),
    ({"regenerate": False, "conversationId": "{conversation}"}, "message"),
])
def test_a_regenerate_request_is_checked(chat, users, fake_openai, body, field):
    alice, _ = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    body = {k: (v.format(conversation=conversation) if isinstance(v, str) else v) for k, v in body.items()}
    calls = len(fake_openai.requests)
    reply = call(chat, "POST", CHAT, body, alice.headers)
    assert (reply.status, reply.json()["error"]["field"]) == (422, field)
    assert len(fake_openai.requests) == calls


def test_regenerating_another_users_conversation_is_not_found(chat, users, fake_openai):
    alice, bob = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    reply = call(chat, "POST", CHAT, {"conversationId": conversation, "regenerate": True}, bob.headers)
    assert reply.status == 404 and not fake_openai.requests
    assert [m["content"] for m in messages_of(chat, conversation, alice)] == ["Combien ?", "Ancienne"]


def test_a_version_is_refused_for_a_message_that_is_not_the_users_reply(users):
    alice, bob = users
    conversation = seeded(alice, "Budget", ("Combien ?", "Ancienne"))
    question, answer = store().messages(alice.id, conversation)
    for user_id, message_id in ((bob.id, answer["id"]), (alice.id, question["id"])):
        with pytest.raises(stores.ConversationNotFound):
            store().record_version(user_id, conversation, message_id, [{"role": "assistant", "content": "piraté"}])
    assert [m["content"] for m in store().messages(alice.id, conversation)] == ["Combien ?", "Ancienne"]


def test_regenerate_without_history_says_history_is_off(chat, env, fake_openai):
    reply = call(chat, "POST", CHAT, {"conversationId": str(uuid.uuid4()), "regenerate": True})
    assert (reply.status, reply.json()["error"]["code"]) == (503, "history_disabled")
    assert not fake_openai.requests
