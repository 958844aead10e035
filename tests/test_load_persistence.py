"""Load with persistence: many users chatting at once lose nothing, duplicate nothing, and keep their order."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import psycopg
import pytest

from tests.helpers import call

CHAT = "/api/groupchat/chat"
SECRET = "jwt-secret-for-the-load-test-0123456789abcd"
USERS, TURNS = 50, 20


def user_headers() -> dict:
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def test_50_users_by_20_turns_through_the_chat_endpoint_on_sqlite(chat, env, fake_openai, tmp_path):
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    # On a loaded machine a turn may wait long for the CPU: this test is about what is stored, not how fast
    # (bench/ measures that), so neither the upstream nor the client gives up early.
    env.setenv("OPENAI_TIMEOUT_SECONDS", "55")
    fake_openai.chunk_delay = 0

    def converse(number: int):
        headers, conversation, failures = user_headers(), None, []
        for turn in range(TURNS):
            body = {"message": f"u{number} t{turn}", "stream": turn % 2 == 1}
            if conversation:
                body["conversationId"] = conversation
            reply = call(chat, "POST", CHAT, body, headers, timeout=600)
            result = reply.events()[-1] if body["stream"] else reply.json()
            if reply.status != 200 or result.get("saved") is not True:
                failures.append((turn, reply.status, reply.text[:200]))
            conversation = conversation or result["conversationId"]
        return headers, conversation, failures

    with ThreadPoolExecutor(max_workers=USERS) as pool:
        results = list(pool.map(converse, range(USERS)))

    assert [failure for *_, failures in results for failure in failures] == []
    for number, (headers, conversation, _) in enumerate(results):
        listing = call(chat, "GET", CHAT, headers=headers).json()["conversations"]
        assert [c["id"] for c in listing] == [conversation]  # one conversation each, none leaked across users
        messages = call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=headers).json()["messages"]
        expected = [text for turn in range(TURNS) for text in (f"u{number} t{turn}", f"Echo: u{number} t{turn}")]
        assert [m["content"] for m in messages] == expected  # every turn once, in order
        assert {m["status"] for m in messages} == {"complete"}


def test_the_same_concurrent_turns_into_the_supabase_schema(postgres, postgrest):
    from lib.stores.supabase import SupabaseStore

    store = SupabaseStore(postgrest.url, postgrest.SERVICE_KEY, 10.0)
    users = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(USERS)]
    for user_id, _ in users:
        postgres.add_user(user_id)

    def converse(user):
        user_id, conversation = user
        for turn in range(TURNS):
            store.record_turn(user_id, conversation, "charge", f"{user_id} q{turn}", f"{user_id} a{turn}")

    with ThreadPoolExecutor(max_workers=USERS) as pool:
        list(pool.map(converse, users))

    with psycopg.connect(postgres.dsn) as db:
        for user_id, conversation in users:
            rows = db.execute("select role, content from messages where conversation_id = %s order by id",
                              (conversation,)).fetchall()
            expected = [row for turn in range(TURNS)
                        for row in (("user", f"{user_id} q{turn}"), ("assistant", f"{user_id} a{turn}"))]
            assert rows == expected
        owners = db.execute("select count(*), count(distinct user_id) from conversations where id = any(%s)",
                            ([conversation for _, conversation in users],)).fetchone()
        assert owners == (USERS, USERS)


@pytest.mark.parametrize("writers", [20])
def test_concurrent_turns_on_one_conversation_stay_paired_in_postgres(postgres, postgrest, writers):
    from lib.stores.supabase import SupabaseStore

    store = SupabaseStore(postgrest.url, postgrest.SERVICE_KEY, 10.0)
    user_id, conversation = str(uuid.uuid4()), str(uuid.uuid4())
    postgres.add_user(user_id)
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(lambda n: store.record_turn(user_id, conversation, "t", f"q{n}", f"a{n}"), range(writers * 5)))
    contents = [m["content"] for m in store.messages(user_id, conversation)]
    assert len(contents) == writers * 10
    assert all(q[1:] == a[1:] and (q[0], a[0]) == ("q", "a") for q, a in zip(contents[::2], contents[1::2]))
    assert len(set(contents)) == len(contents)
