"""The conversation list and search in pages (issue 24): a cursor, newest first, rooms and private chats in one
order, on every store alike."""

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from lib import conversations
from lib.stores.base import Keyset
from tests.helpers import call

CHAT = "/api/groupchat/chat"
START = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())




def stamp(backend, when: dict[str, datetime]):
    """Set conversations' updatedAt directly, as if their last messages had been written then."""
    rows = [(at.isoformat(timespec="microseconds"), conversation) for conversation, at in when.items()]
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.sqlite_path) as db:
            db.executemany("update conversations set updated_at = ? where id = ?", rows)
    else:
        import psycopg

        with psycopg.connect(backend.postgres.dsn) as db:
            with db.cursor() as cursor:
                cursor.executemany("update public.conversations set updated_at = %s where id = %s", rows)


def seeded(backend, store, user_id: str, count: int, text: str = "q") -> dict[str, datetime]:
    """`count` conversations of the user's, one a minute back from START, every fifth sharing its
    neighbour's minute (ties the id must break): their ids and updatedAt."""
    when = {}
    for n in range(count):
        conversation = new_id()
        store.record_turn(user_id, conversation, f"Conversation {n}", text, "a")
        when[conversation] = START - timedelta(minutes=n - n % 5 // 4)
    stamp(backend, when)
    return when


def expected(when: dict[str, datetime]) -> list[str]:
    return [c for c, _ in sorted(when.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def every_page(port, user, query: str = "") -> list[dict]:
    """GET the list (or search, with `query`) page after page until nextCursor is null."""
    pages, cursor = [], None
    while True:
        params = [f"q={quote(query)}"] if query else []
        params += [f"cursor={cursor}"] if cursor else []
        reply = call(port, "GET", f"{CHAT}?{'&'.join(params)}", headers=user.headers)
        assert reply.status == 200, reply.text
        pages.append(reply.json())
        cursor = pages[-1]["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


def test_the_list_pages_past_250_conversations_newest_first_with_rooms_in_place(chat, users, backend, store):
    alice, bob = users
    when = seeded(backend, store, alice.id, 260)
    rooms = {}
    for n, minutes in enumerate((3, 120, 251)):  # Bob's rooms, with Alice in them, fall in her list's pages
        room = new_id()
        store.create_room(bob.id, room, f"Salle {n}", "Bob")
        token = new_id()
        store.create_invite(bob.id, room, "Bob", token, (datetime.now(timezone.utc) + timedelta(days=1)).isoformat())
        store.accept_invite(token, alice.id, "Alice")
        rooms[room] = START - timedelta(minutes=minutes, seconds=30)
    stamp(backend, rooms)
    pages = every_page(chat, alice)
    listed = [c for page in pages for c in page["conversations"]]
    assert [len(page["conversations"]) for page in pages] == [50] * 5 + [13]
    assert [c["id"] for c in listed] == expected({**when, **rooms})
    assert [c["id"] for c in listed if c["room"]] == list(rooms)
    assert {c["room"]["role"] for c in listed if c["room"]} == {"member"}
    assert every_page(chat, bob)[0]["conversations"][0]["room"]["memberCount"] == 2


def test_search_pages_the_same_way(chat, users, backend, store):
    alice, bob = users
    found = seeded(backend, store, alice.id, 255, text="le dividende trimestriel")
    seeded(backend, store, alice.id, 7, text="autre chose")
    seeded(backend, store, bob.id, 3, text="dividende de Bob")
    pages = every_page(chat, alice, "Dividende")
    assert [len(page["conversations"]) for page in pages] == [50] * 5 + [5]
    listed = [c for page in pages for c in page["conversations"]]
    assert [c["id"] for c in listed] == expected(found)
    assert {c["snippet"] for c in listed} == {"le dividende trimestriel"}


def test_search_finds_the_few_matches_among_many_older_conversations(chat, users, backend, store):
    """Past the newest conversations search reads through the indexes: rare matches, by text or by title only,
    come in the same order and pages, each with its newest matching message."""
    alice, _ = users
    when = seeded(backend, store, alice.id, 150, text="rien à signaler")
    order = expected(when)
    by_text, by_title = order[3::9], order[70::13]
    for conversation in by_text:
        store.record_turn(alice.id, conversation, "", "un dividende ancien", "a")
        store.record_turn(alice.id, conversation, "", "le dividende trimestriel", "a")
    for conversation in by_title:
        assert store.rename_conversation(alice.id, conversation, "Dividendes 2025")
    stamp(backend, when)
    pages = every_page(chat, alice, "DIVIDENDE")
    listed = [c for page in pages for c in page["conversations"]]
    assert [c["id"] for c in listed] == [c for c in order if c in by_text or c in by_title]
    assert {c["snippet"] for c in listed if c["id"] in by_text} == {"le dividende trimestriel"}
    assert {c["snippet"] for c in listed if c["id"] in by_title and c["id"] not in by_text} == {None}


def test_an_empty_list_and_a_short_one_end_at_once(chat, users, backend, store):
    alice, bob = users
    assert every_page(chat, alice) == [{"conversations": [], "nextCursor": None}]
    seeded(backend, store, bob.id, 50)
    assert [len(p["conversations"]) for p in every_page(chat, bob)] == [50]
    assert every_page(chat, bob, "introuvable") == [{"conversations": [], "nextCursor": None}]


@pytest.mark.parametrize("cursor", ["x", "%00", "bm90IGpzb24", conversations.cursor_after(
    {"updatedAt": "2026-12-01T10:00:00", "id": new_id()}), conversations.cursor_after(
    {"updatedAt": "2026-12-01T10:00:00+00:00", "id": "1 or 1=1"}), "A" * 400, ""])
def test_a_bad_cursor_is_refused(chat, users, cursor):
    for query in ("", "q=budget&"):
        reply = call(chat, "GET", f"{CHAT}?{query}cursor={cursor}", headers=users[0].headers)
        assert reply.status == 422, reply.text
        assert reply.json()["error"]["field"] == "cursor"


def test_a_cursor_does_not_go_with_a_conversation_id(chat, users):
    cursor = conversations.cursor_after({"updatedAt": "2026-12-01T10:00:00+00:00", "id": new_id()})
    reply = call(chat, "GET", f"{CHAT}?conversationId={new_id()}&cursor={cursor}", headers=users[0].headers)
    assert reply.status == 422 and reply.json()["error"]["field"] == "cursor"


def test_the_stores_page_after_a_bound_with_ties_broken_by_id(store, new_user, backend):
    user = new_user()
    when = seeded(backend, store, user, 12, text="budget")
    order = expected(when)
    tied = when[order[3]]
    assert [c for c in order if when[c] == tied][-1] != order[3]  # the bound sits inside a tie
    bound = Keyset(tied, order[3])
    assert [c["id"] for c in store.conversations(user, limit=4, before=bound)] == order[4:8]
    assert [c["id"] for c in store.search(user, "budget", limit=4, before=bound)] == order[4:8]
    assert [c["id"] for c in store.conversations(user, limit=100, before=Keyset(when[order[-1]], order[-1]))] == []
