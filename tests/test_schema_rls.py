"""The migration on a real PostgreSQL: its shape, its constraints, and row-level security per user."""

import uuid

import psycopg
import pytest

USER_A, USER_B = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture
def db(postgres):
    with psycopg.connect(postgres.dsn) as connection:
        yield connection
        connection.rollback()


def as_user(db, user_id: str | None, role: str = "authenticated"):
    """Switch this transaction to a Supabase API role, with the JWT's sub as auth.uid()."""
    db.execute(f"set local role {role}")
    claims = "{}" if user_id is None else f'{{"sub": "{user_id}", "role": "{role}"}}'
    db.execute("select set_config('request.jwt.claims', %s, true)", (claims,))


def seed(db) -> tuple[str, str]:
    """One conversation with one turn for A and for B, written as the server does (service role)."""
    conversations = []
    for user in (USER_A, USER_B):
        conversation = str(uuid.uuid4())
        db.execute("select public.record_turn(%s, %s, 'Budget', 'Question', 'Réponse')", (user, conversation))
        conversations.append(conversation)
    return conversations[0], conversations[1]


def test_a_user_reads_only_their_own_rows(db):
    mine, _ = seed(db)
    as_user(db, USER_A)
    assert db.execute("select id::text from conversations").fetchall() == [(mine,)]
    assert {row[0] for row in db.execute("select user_id::text from messages")} == {USER_A}


def test_a_user_cannot_write_into_another_users_conversation(db):
    _, theirs = seed(db)
    as_user(db, USER_A)
    with pytest.raises(psycopg.Error):
        db.execute("insert into messages (conversation_id, user_id, role, content) values (%s, %s, 'user', 'x')",
                   (theirs, USER_A))


def test_a_user_cannot_write_rows_in_another_users_name(db):
    as_user(db, USER_A)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("insert into conversations (user_id, title) values (%s, 'x')", (USER_B,))


def test_a_user_cannot_change_or_delete_another_users_rows(db):
    _, theirs = seed(db)
    as_user(db, USER_A)
    assert db.execute("update conversations set title = 'pwned' where id = %s", (theirs,)).rowcount == 0
    assert db.execute("delete from conversations where id = %s", (theirs,)).rowcount == 0
    assert db.execute("delete from messages where conversation_id = %s", (theirs,)).rowcount == 0


def test_a_user_can_write_their_own_rows(db):
    as_user(db, USER_A)
    conversation = db.execute("insert into conversations (user_id, title) values (%s, 'Mine') returning id",
                              (USER_A,)).fetchone()[0]
    db.execute("insert into messages (conversation_id, user_id, role, content) values (%s, %s, 'user', 'hi')",
               (conversation, USER_A))
    assert db.execute("select count(*) from messages where conversation_id = %s", (conversation,)).fetchone() == (1,)


@pytest.mark.parametrize("table", ["conversations", "messages"])
def test_anon_reads_nothing(db, table):
    seed(db)
    as_user(db, None, role="anon")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(f"select * from {table}")


def test_anon_sees_no_rows_even_if_someone_grants_it_select(db):
    seed(db)
    db.execute("grant select on conversations, messages to anon")
    as_user(db, None, role="anon")
    assert db.execute("select count(*) from conversations").fetchone() == (0,)
    assert db.execute("select count(*) from messages").fetchone() == (0,)


def test_only_the_service_role_may_record_turns(db):
    as_user(db, USER_A)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select public.record_turn(%s, %s, 't', 'q', 'a')", (USER_A, str(uuid.uuid4())))


def test_record_turn_refuses_another_users_conversation(db):
    _, theirs = seed(db)
    with pytest.raises(psycopg.errors.NoDataFound):
        db.execute("select public.record_turn(%s, %s, 't', 'q', 'a')", (USER_A, theirs))


def test_a_turn_is_the_user_message_then_the_reply(db):
    mine, _ = seed(db)
    rows = db.execute("select role, content, status from messages where conversation_id = %s order by id",
                      (mine,)).fetchall()
    assert rows == [("user", "Question", "complete"), ("assistant", "Réponse", "complete")]


def test_deleting_a_conversation_deletes_its_messages(db):
    mine, _ = seed(db)
    db.execute("delete from conversations where id = %s", (mine,))
    assert db.execute("select count(*) from messages where conversation_id = %s", (mine,)).fetchone() == (0,)


@pytest.mark.parametrize("role, status", [("robot", "complete"), ("user", "half")])
def test_roles_and_statuses_are_checked(db, role, status):
    mine, _ = seed(db)
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("insert into messages (conversation_id, user_id, role, content, status) values (%s, %s, %s, 'x', %s)",
                   (mine, USER_A, role, status))


def test_a_message_cannot_name_another_owner_than_its_conversation(db):
    mine, _ = seed(db)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("insert into messages (conversation_id, user_id, role, content) values (%s, %s, 'user', 'x')",
                   (mine, USER_B))


def test_the_indexes_exist(db):
    names = {row[0] for row in db.execute("select indexname from pg_indexes where schemaname = 'public'")}
    assert {"conversations_user_id_updated_at_idx", "messages_user_id_idx",
            "messages_conversation_id_created_at_idx"} <= names


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_browser_roles_can_neither_read_nor_spend_rate_limits(db, role):
    as_user(db, USER_A if role == "authenticated" else None, role=role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select * from rate_limits")


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_browser_roles_cannot_call_the_counter(db, role):
    as_user(db, USER_A if role == "authenticated" else None, role=role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select * from consume_rate_limits('x', array['b'], array[60], array[1::bigint], array[1::bigint])")


def test_the_counter_counts_each_bucket_in_its_window(db):
    subject = str(uuid.uuid4())
    rows = [db.execute("select bucket, allowed, used from consume_rate_limits(%s, array['m', 'd'], array[60, 86400], "
                       "array[2, 5]::bigint[], array[1, 1]::bigint[])", (subject,)).fetchall() for _ in range(3)]
    assert rows == [[("m", True, 1), ("d", True, 1)], [("m", True, 2), ("d", True, 2)],
                    [("m", False, 3), ("d", True, 3)]]
    reset = db.execute("select reset_at - now() <= interval '86400 seconds' from consume_rate_limits(%s, array['d'], "
                       "array[86400], array[5]::bigint[], array[0]::bigint[])", (subject,)).fetchone()
    assert reset == (True,)
