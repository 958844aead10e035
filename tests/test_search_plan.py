"""Search never reads the whole messages table (issue 28): the plan PostgreSQL picks, with statistics, for the
exact function the Supabase store calls, over a realistic number of messages, uses indexes."""

import pytest

# 200,000 messages, 200 a user, and one heavy user (user 0) with 2,000 conversations, 20,000 messages
USERS, CONVERSATIONS, MESSAGES, HEAVY = 1000, 20, 10, 2000

# words of French and English financial chat, drawn by a hash of the row: the same database at every run
WORDS = ("budget épargne retraite impôt assurance crédit taux livret placement compte salaire prime banque "
         "savings pension mortgage invest loan rate portfolio account salary bonus bank tax fund bond share "
         "le la les de des et pour un une mon ma the a of and for my your with")


def seed(db, users: int, conversations: int, messages: int, heavy: int, words: str = WORDS):
    """Users 0..users, their conversations (`heavy` for user 0) and messages by generate_series: every message a
    dozen words, one in 500 saying "dividende" (a rarer word); then ANALYZE, as autovacuum would."""
    db.execute("insert into auth.users (id, aud, role) select md5('user' || u)::uuid, 'authenticated', "
               "'authenticated' from generate_series(0, %s) u", (users,))
    db.execute("insert into public.conversations (id, user_id, title, updated_at) "
               "select md5('conversation' || u || '-' || c)::uuid, md5('user' || u)::uuid, 'Conversation ' || c, "
               "now() - make_interval(mins => u * c) from generate_series(0, %s) u, "
               "lateral generate_series(1, case when u = 0 then %s else %s end) c", (users, heavy, conversations))
    db.execute("""
        insert into public.messages (conversation_id, user_id, role, content, status, source)
        select c.id, c.user_id, case when g %% 2 = 1 then 'user' else 'assistant' end,
               (select string_agg(w[1 + abs(hashtext(c.id::text || g || k)) %% array_length(w, 1)], ' ')
                from generate_series(1, 12) k)
               || case when abs(hashtext(c.id::text || g)) %% 500 = 0 then ' dividende' else '' end,
               'complete', 'text'
        from public.conversations c, generate_series(1, %s) g, (select string_to_array(%s, ' ') as w) words
        where c.title like 'Conversation %%'""", (messages, words))
    db.execute("analyze public.conversations, public.messages")


@pytest.fixture(scope="module")
def searched():
    """A PostgreSQL of its own with every migration and the seeded history; a superuser connection to it."""
    import psycopg

    from tests.standins.postgres import Postgres

    server = Postgres().start()
    try:
        with psycopg.connect(server.dsn_as("supabase_admin"), autocommit=True) as db:
            seed(db, USERS, CONVERSATIONS, MESSAGES, HEAVY)
            db.execute("insert into public.conversation_members (conversation_id, user_id, role) "  # rooms 7 and 0 are in
                       "select md5('conversation' || u || '-1')::uuid, md5('user' || m)::uuid, 'member' "
                       "from generate_series(8, 10) u, (values (7), (0)) members(m)")
            yield db
    finally:
        server.stop()


def plans(db, query: str, user: int = 7) -> list[str]:
    """The plans of every statement the store's search runs, in the user's own conversations and in the rooms they
    are in (auto_explain, nested statements included)."""
    found = []
    db.add_notice_handler(lambda notice: found.append(notice.message_primary))
    db.execute("load 'auto_explain'")
    db.execute("set auto_explain.log_min_duration = 0")
    db.execute("set auto_explain.log_nested_statements = on")
    db.execute("set auto_explain.log_level = notice")
    db.execute("select * from public.search_history(md5('user' || %s)::uuid, %s, 51, null, null)", (user, query))
    db.execute("select * from public.search_history(md5('user' || %s)::uuid, %s, 51, now(), %s::uuid)",
               (user, query, "ffffffff-ffff-ffff-ffff-ffffffffffff"))
    db.execute("reset auto_explain.log_min_duration")
    db._notice_handlers.clear()
    return found


@pytest.mark.parametrize("user", [7, 0], ids=["user", "heavy-user"])
@pytest.mark.parametrize("query", ["budget", "dividende", "introuvable", "ta", "50 %"])
def test_search_reads_messages_through_indexes(searched, query, user):
    found = plans(searched, query, user)
    inner = [plan for plan in found if "public.messages" in plan or "messages m" in plan]
    assert inner, found  # the function's own statement was explained
    assert [plan for plan in found if "conversation_members" in plan], found  # and the rooms' one
    assert not [plan for plan in found if "Seq Scan on messages" in plan], "\n\n".join(found)


def test_the_seeded_history_finds_what_it_holds(searched):
    found = searched.execute("select count(*) from public.search_conversations(md5('user' || 7)::uuid, "
                             "'budget', 100, null, null)").fetchone()[0]
    assert 0 < found <= CONVERSATIONS


def test_the_check_sees_a_sequential_scan_when_there_is_one(searched):
    searched.execute("set enable_indexscan = off")
    searched.execute("set enable_bitmapscan = off")
    searched.execute("discard plans")  # the function's plans the earlier tests' calls cached
    try:
        assert [plan for plan in plans(searched, "dividende") if "Seq Scan on messages" in plan]
    finally:
        searched.execute("reset enable_indexscan")
        searched.execute("reset enable_bitmapscan")
        searched.execute("discard plans")
