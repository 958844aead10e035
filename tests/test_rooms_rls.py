"""Rooms under row-level security on the real PostgreSQL: members, and only members, read a room; the browser
roles write nothing and reach neither invitations nor the room functions; a deleted user leaves no membership."""

import uuid
from urllib.parse import urlsplit

import psycopg
import pytest

from lib.access import named_token_user_id
from tests.helpers import LoopbackServer, call, load_handler
from tests.test_schema_rls import as_user

OWNER, MEMBER, OUTSIDER = (str(uuid.uuid4()) for _ in range(3))


@pytest.fixture
def db(postgres):
    for user in (OWNER, MEMBER, OUTSIDER):
        postgres.add_user(user)
    with psycopg.connect(postgres.dsn) as connection:
        yield connection
        connection.rollback()


def as_server(db):
    db.execute("reset role")
    db.execute("select set_config('request.jwt.claims', '', true)")


def seed(db, owner: str = OWNER, member: str = MEMBER, invite: str = "hash-1") -> str:
    """The owner's conversation, shared with the member, who wrote in it; written as the server does."""
    conversation = str(uuid.uuid4())
    db.execute("select public.record_turn(%s, %s, 'Budget', 'Question', 'Réponse')", (owner, conversation))
    db.execute("select public.create_room_invite(%s, %s, 'Owner', %s, now() + interval '7 days')",
               (owner, conversation, invite))
    assert db.execute("select role from public.accept_room_invite(%s, %s, 'Member')",
                      (invite, member)).fetchone() == ("member",)
    db.execute("select public.record_room_turn(%s, %s, %s, 'Member', 'Bonjour', null)", (owner, conversation, member))
    return conversation


def visible(db, conversation: str) -> tuple[int, int]:
    conversations = db.execute("select count(*) from conversations where id = %s", (conversation,)).fetchone()[0]
    messages = db.execute("select count(*) from messages where conversation_id = %s", (conversation,)).fetchone()[0]
    return conversations, messages


def test_members_and_the_owner_read_the_room_and_no_one_else(db):
    conversation = seed(db)
    for user, expected in ((OWNER, (1, 3)), (MEMBER, (1, 3)), (OUTSIDER, (0, 0))):
        as_user(db, user)
        assert visible(db, conversation) == expected
        as_server(db)


def test_a_removed_member_loses_access_at_once(db):
    conversation = seed(db)
    db.execute("delete from conversation_members where conversation_id = %s and user_id = %s", (conversation, MEMBER))
    as_user(db, MEMBER)
    assert visible(db, conversation) == (0, 0)


def test_a_member_sees_only_their_own_membership_rows(db):
    conversation = seed(db)
    as_user(db, MEMBER)
    assert db.execute("select user_id::text from conversation_members where conversation_id = %s",
                      (conversation,)).fetchall() == [(MEMBER,)]


@pytest.mark.parametrize("statement", [
    "update messages set content = 'x' where conversation_id = '{c}'",
    "delete from messages where conversation_id = '{c}'",
    "update conversations set title = 'x' where id = '{c}'",
    "insert into messages (conversation_id, user_id, role, content) values ('{c}', '{o}', 'user', 'x')",
])
def test_a_member_cannot_write_in_the_room(db, statement):
    conversation = seed(db)
    as_user(db, MEMBER)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(statement.format(c=conversation, o=OWNER))


@pytest.mark.parametrize("statement", [
    "insert into conversation_members (conversation_id, user_id, role) values ('{c}', '{u}', 'member')",
    "update conversation_members set role = 'owner'",
    "delete from conversation_members",
    "select * from room_invitations",
    "insert into room_invitations (token_hash, conversation_id) values ('x', '{c}')",
])
@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_browser_roles_cannot_touch_memberships_or_invitations(db, role, statement):
    conversation = seed(db)
    as_user(db, MEMBER if role == "authenticated" else None, role=role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(statement.format(c=conversation, u=OUTSIDER))


@pytest.mark.parametrize("call", [
    "room_access('{u}', '{c}')", "rooms_for('{u}')",
    "create_room_invite('{u}', '{c}', 'x', 'h', now())", "accept_room_invite('hash-1', '{u}', 'x')",
    "revoke_room_invite('{u}', 'hash-1')", "record_room_turn('{u}', '{c}', '{u}', 'x', 'q', 'a')",
    "set_room_assistant('{u}', '{c}', 'all')", "create_room('{u}', gen_random_uuid(), 't', 'x')",
    "create_room_invite('{u}', '{c}', 'x', 'h', now(), true)", "revoke_room_invite_by_id('{u}', '{c}', '{u}')",
    "remove_room_member('{c}', '{u}')", "start_room_reply('{u}', '{c}', '{u}', 'x', 'q')",
    "update_room_reply('{u}', '{c}', 1, '{u}', 'a', 'complete')", "stop_room_replies('{u}', '{c}', null)",
])
@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_only_the_service_role_may_call_the_room_functions(db, role, call):
    conversation = seed(db)
    as_user(db, OUTSIDER if role == "authenticated" else None, role=role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select * from public." + call.format(u=OUTSIDER, c=conversation))


def test_the_room_functions_run_as_their_caller_with_an_empty_search_path(db):
    rows = db.execute("select proname, prosecdef, proconfig from pg_proc where proname = any(%s)", ([
        "room_access", "rooms_for", "create_room_invite", "accept_room_invite",
        "revoke_room_invite", "record_room_turn", "set_room_assistant", "create_room", "revoke_room_invite_by_id",
        "remove_room_member", "start_room_reply", "update_room_reply", "stop_room_replies"],)).fetchall()
    assert len(rows) == 13
    assert all(not definer and config == ['search_path=""'] for _, definer, config in rows)


def test_new_tables_have_row_level_security_and_no_default_grants(db):
    rows = db.execute("select relname, relrowsecurity from pg_class where relname in "
                      "('conversation_members', 'room_invitations', 'room_departures')").fetchall()
    assert sorted(rows) == [("conversation_members", True), ("room_departures", True), ("room_invitations", True)]
    grants = db.execute("select table_name, grantee, privilege_type from information_schema.role_table_grants "
                        "where table_name in ('conversation_members', 'room_invitations', 'room_departures') "
                        "and grantee in ('anon', 'authenticated')").fetchall()
    assert grants == [("conversation_members", "authenticated", "SELECT")]


def test_a_removed_member_cannot_be_written_for(db):
    conversation = seed(db)
    db.execute("delete from conversation_members where conversation_id = %s and user_id = %s", (conversation, MEMBER))
    with pytest.raises(psycopg.errors.NoDataFound):
        db.execute("select public.record_room_turn(%s, %s, %s, 'Member', 'encore', 'réponse')",
                   (OWNER, conversation, MEMBER))


@pytest.fixture
def rest(postgrest, postgres):
    """A room written as the server does, and each person's browser headers (anon key + their JWT) for the real
    PostgREST."""
    postgrest.faults.clear()
    people = {name: str(uuid.uuid4()) for name in ("owner", "member", "outsider")}
    for user in people.values():
        postgres.add_user(user)
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        conversation = str(uuid.uuid4())
        db.execute("select public.record_turn(%s, %s, 'Budget', 'Question', 'Réponse')",
                   (people["owner"], conversation))
        db.execute("select public.create_room_invite(%s, %s, 'Owner', %s, now() + interval '1 day')",
                   (people["owner"], conversation, conversation))
        db.execute("select public.accept_room_invite(%s, %s, 'Member')", (conversation, people["member"]))
        db.execute("select public.record_room_turn(%s, %s, %s, 'Member', 'Bonjour', null)",
                   (people["owner"], conversation, people["member"]))
    headers = {name: postgrest.as_user(user) for name, user in people.items()}
    return type("Rest", (), {"port": urlsplit(postgrest.url).port, "ids": people, "headers": headers,
                             "conversation": conversation, "postgres": postgres, "url": postgrest.url,
                             "service_key": postgrest.SERVICE_KEY})


def browser_read(rest, who: str, table: str):
    column = "id" if table == "conversations" else "conversation_id"
    reply = call(rest.port, "GET", f"/rest/v1/{table}?{column}=eq.{rest.conversation}&select=*&order=id.asc"
                 if table == "messages" else f"/rest/v1/{table}?{column}=eq.{rest.conversation}&select=*",
                 headers=rest.headers[who])
    assert reply.status == 200, reply.text
    return reply.json()


def test_over_postgrest_members_read_the_room_and_outsiders_nothing(rest):
    for who in ("owner", "member"):
        assert [m["content"] for m in browser_read(rest, who, "messages")] == ["Question", "Réponse", "Bonjour"]
        assert [c["title"] for c in browser_read(rest, who, "conversations")] == ["Budget"]
    assert browser_read(rest, "outsider", "messages") == []
    assert browser_read(rest, "outsider", "conversations") == []


def test_over_postgrest_a_removed_member_loses_access_at_once(rest):
    assert len(browser_read(rest, "member", "messages")) == 3
    with psycopg.connect(rest.postgres.dsn, autocommit=True) as db:
        db.execute("delete from conversation_members where conversation_id = %s and user_id = %s",
                   (rest.conversation, rest.ids["member"]))
    assert browser_read(rest, "member", "messages") == []
    assert browser_read(rest, "member", "conversations") == []


def test_over_postgrest_a_member_removed_through_the_api_reads_nothing_with_their_own_token(rest, env):
    """The API's removal (remove_room_member) and a reply in progress: the removed member's JWT, straight to
    PostgREST, reads neither the room's messages (not even the one being written) nor the room."""
    import jwt

    from tests.test_rooms_api import MEMBERS, SECRET

    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_URL", rest.url)
    env.setenv("SUPABASE_SERVICE_ROLE_KEY", rest.service_key)
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    with psycopg.connect(rest.postgres.dsn, autocommit=True) as db:  # a reply being written, as the server does
        db.execute("select public.start_room_reply(%s, %s, %s, 'Owner', '@IA ?')",
                   (rest.ids["owner"], rest.conversation, rest.ids["owner"]))
    assert [m["status"] for m in browser_read(rest, "member", "messages")][-1] == "writing"
    token = jwt.encode({"sub": rest.ids["owner"], "aud": "authenticated", "exp": 2**31 - 1,
                        "iss": f"{rest.url}/auth/v1"}, SECRET, algorithm="HS256")
    server = LoopbackServer(load_handler("groupchat/members.py"))
    try:
        removed = call(server.port, "DELETE", f"{MEMBERS}?conversationId={rest.conversation}&userId={rest.ids['member']}",
                       headers={"Authorization": f"Bearer {token}"})
        assert removed.status == 200, removed.text
    finally:
        server.shutdown()
    assert browser_read(rest, "member", "messages") == []
    assert browser_read(rest, "member", "conversations") == []
    assert len(browser_read(rest, "owner", "messages")) == 5


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/rest/v1/conversation_members", {"conversation_id": "{c}", "user_id": "{me}", "role": "member"}),
    ("DELETE", "/rest/v1/conversation_members?conversation_id=eq.{c}", None),
    ("GET", "/rest/v1/room_invitations", None),
    ("POST", "/rest/v1/messages", {"conversation_id": "{c}", "user_id": "{owner}", "role": "user", "content": "x"}),
    ("POST", "/rest/v1/rpc/accept_room_invite", {"p_token_hash": "{c}", "p_user_id": "{me}", "p_name": "x"}),
    ("POST", "/rest/v1/rpc/record_room_turn", {"p_owner_id": "{owner}", "p_conversation_id": "{c}",
                                               "p_author_id": "{me}", "p_author_name": "x", "p_user_content": "x"}),
])
def test_over_postgrest_a_browser_cannot_join_write_or_read_invitations(rest, method, path, body):
    import json

    fill = {"c": rest.conversation, "me": rest.ids["outsider"], "owner": rest.ids["owner"]}
    text = json.dumps(body).replace("{c}", fill["c"]).replace("{me}", fill["me"]).replace("{owner}", fill["owner"]) \
        if body else None
    reply = call(rest.port, method, path.format(**fill), raw=text.encode() if text else b"",
                 headers=rest.headers["outsider"])
    assert reply.status in (401, 403, 404), reply.text
    assert browser_read(rest, "outsider", "messages") == []
    assert len(browser_read(rest, "member", "messages")) == 3


def test_the_migration_takes_back_supabases_default_grants(db):
    """Supabase grants new tables to its API roles by default: applied under such defaults, the migration still
    leaves the browser roles no more than reading their own memberships."""
    from tests.standins.postgres import MIGRATIONS

    db.execute("alter default privileges in schema public grant all on tables to anon, authenticated")
    db.execute("alter default privileges in schema public grant all on sequences to anon, authenticated")
    db.execute("drop table conversation_members, room_invitations, room_departures cascade")
    db.execute((MIGRATIONS / "20261130040000_rooms.sql").read_text())
    db.execute((MIGRATIONS / "20261207100000_rooms_trust.sql").read_text())
    test_new_tables_have_row_level_security_and_no_default_grants(db)
    test_a_removed_member_loses_access_at_once(db)


# --- A deleted Supabase user leaves no membership or call behind; the room keeps its history ---

def record_call(db, user_id: str, conversation: str):
    """A realtime call the server started for this user, as lib/voice_calls.py records it."""
    db.execute("insert into realtime_calls (id, user_id, conversation_id) values (%s, %s, %s)",
               (f"rtc_{uuid.uuid4().hex}", user_id, conversation))


def what_is_left(db, conversation: str) -> dict:
    """The room as the server sees it: its conversation, memberships, messages and every call of it."""
    return {
        "conversation": db.execute("select user_id::text, title from conversations where id = %s",
                                   (conversation,)).fetchall(),
        "members": db.execute("select user_id::text, role from conversation_members where conversation_id = %s "
                              "order by role desc, joined_at", (conversation,)).fetchall(),
        "messages": db.execute("select role, content, author_id::text, author_name from messages "
                               "where conversation_id = %s order by id", (conversation,)).fetchall(),
        "calls": sorted(db.execute("select user_id::text from realtime_calls where conversation_id = %s",
                                   (conversation,)).fetchall()),
    }


def new_room(server, db, invite: str | None = None) -> tuple[str, str, str]:
    """Two new Supabase users and the first's room, which the second joined and wrote in: (owner, member, room)."""
    owner, member = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (owner, member):
        server.add_user(user)
    return owner, member, seed(db, owner, member, invite=invite or str(uuid.uuid4()))


def test_a_deleted_member_leaves_no_membership_or_call_and_the_room_keeps_its_history(postgres):
    with psycopg.connect(postgres.dsn, autocommit=True) as db:  # GoTrue deletes in its own transaction
        owner, member, conversation = new_room(postgres, db)
        record_call(db, owner, conversation)
        record_call(db, member, conversation)
        postgres.delete_user(member)  # as GoTrue does, in its own role
        assert what_is_left(db, conversation) == {
            "conversation": [(owner, "Budget")],
            "members": [(owner, "owner")],
            "messages": [("user", "Question", None, None), ("assistant", "Réponse", None, None),
                         ("user", "Bonjour", member, "Member")],  # the room's history, under the author's name
            "calls": [(owner,)],
        }
        assert db.execute("select count(*) from realtime_calls where user_id = %s", (member,)).fetchone() == (0,)


def test_a_deleted_owner_takes_the_room_and_its_memberships_with_them(postgres):
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        owner, _, conversation = new_room(postgres, db)
        postgres.delete_user(owner)
        assert what_is_left(db, conversation) == {"conversation": [], "members": [], "messages": [], "calls": []}


def test_a_dashboard_token_holder_not_in_auth_users_still_joins_and_writes(db):
    holder = named_token_user_id("Compta")  # DASHBOARD_TOKENS=Compta:...: an id GoTrue never issued
    assert db.execute("select count(*) from auth.users where id = %s", (holder,)).fetchone() == (0,)
    conversation = seed(db, member=holder)
    assert what_is_left(db, conversation)["members"] == [(OWNER, "owner"), (holder, "member")]
    assert what_is_left(db, conversation)["messages"][-1] == ("user", "Bonjour", holder, "Member")


def test_the_deleted_user_trigger_runs_as_the_project_owner_with_an_empty_search_path(db):
    assert db.execute("select pg_get_userbyid(proowner), prosecdef, proconfig from pg_proc "
                      "where proname = 'forget_deleted_user'").fetchall() == [("postgres", True, ['search_path=""'])]
    assert db.execute("select tgrelid::regclass::text, tgenabled from pg_trigger "
                      "where tgfoid = 'private.forget_deleted_user()'::regprocedure").fetchall() == [("auth.users", "O")]
    for role in ("anon", "authenticated"):
        assert db.execute("select has_function_privilege(%s, 'private.forget_deleted_user()', 'EXECUTE')",
                          (role,)).fetchone() == (False,)


def test_the_migration_removes_what_users_deleted_before_it_left_behind():
    from tests.standins.postgres import Postgres, all_migrations

    deployed = [m for m in all_migrations() if m.name < "20261130060000"]
    server = Postgres().start(migrations=deployed)
    try:
        holder = named_token_user_id("Compta")
        with psycopg.connect(server.dsn, autocommit=True) as db:
            owner, gone, conversation = new_room(server, db, invite="hash-1")
            assert db.execute("select role from public.accept_room_invite('hash-1', %s, 'Compta')",
                              (holder,)).fetchone() == ("member",)
            record_call(db, owner, conversation)
            record_call(db, gone, conversation)
            server.delete_user(gone)  # before the migration: their membership and call stay behind
            assert len(what_is_left(db, conversation)["members"]) == 3
            for migration in all_migrations()[len(deployed):]:
                server.apply(migration.read_text())
            assert what_is_left(db, conversation) == {
                "conversation": [(owner, "Budget")],
                "members": [(owner, "owner"), (holder, "member")],  # the dashboard-token holder stays
                "messages": [("user", "Question", None, None), ("assistant", "Réponse", None, None),
                             ("user", "Bonjour", gone, "Member")],
                "calls": [(owner,)],
            }
    finally:
        server.stop()
