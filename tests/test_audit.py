"""The audit trail: the server appends a line per event with hashed ids and no message text; it is append-only;
the browser can neither read nor write it (proven over the real PostgREST); admins read, filter and download it."""

import json
import uuid
from urllib.parse import urlsplit

import pytest

from lib import audit
from tests.firm import ADMIN, People, hosted, say, sign_in_with_supabase
from tests.helpers import call

AUDIT = "/api/admin/audit"
SECRET_WORDS = "Mon IBAN secret FR76"


@pytest.fixture(scope="module")
def members():
    yield from hosted("groupchat/members.py")


@pytest.fixture(scope="module")
def trail_port():
    yield from hosted("admin/audit.py")


@pytest.fixture
def people(backend, env, fake_openai):
    sign_in_with_supabase(env)
    return People(backend, alice={}, bob={}, root=ADMIN)


def read_trail(port, people, query: str = "") -> list[dict]:
    reply = call(port, "GET", AUDIT + query, headers=people.headers["root"])
    assert reply.status == 200, reply.text
    return reply.json()["events"]


def test_each_event_is_one_line_with_hashed_ids_and_no_message_text(people, chat, members, trail_port):
    conversation = say(chat, people.headers["alice"], SECRET_WORDS).json()["conversationId"]
    invite = call(members, "POST", "/api/groupchat/members", {"conversationId": conversation},
                  people.headers["alice"]).json()["invite"]
    assert call(members, "POST", "/api/groupchat/members", {"invite": invite}, people.headers["bob"]).status == 200
    assert call(members, "DELETE", f"/api/groupchat/members?invite={invite}", headers=people.headers["alice"]).status == 200
    assert call(members, "DELETE", f"/api/groupchat/members?conversationId={conversation}&userId={people.ids['bob']}",
                headers=people.headers["alice"]).status == 200
    assert call(chat, "DELETE", f"/api/groupchat/chat?conversationId={conversation}",
                headers=people.headers["alice"]).status == 200
    assert call(chat, "GET", "/api/groupchat/chat", headers={"Authorization": "Bearer not-a-real-token"}).status == 401

    alice, bob = audit.hashed(people.ids["alice"]), audit.hashed(people.ids["bob"])
    ours = (alice, bob, audit.hashed("credential:Bearer not-a-real-token"))
    events = [e for e in reversed(read_trail(trail_port, people)) if e["actor"] in ours]  # Supabase's db is shared
    assert [e["kind"] for e in events] == ["invitation_made", "invitation_used", "invitation_revoked",
                                           "member_removed", "conversation_deleted", "credential_refused"]
    assert [e["actor"] for e in events[:5]] == [alice, bob, alice, alice, alice]
    assert events[0]["target"] == events[1]["target"] == events[4]["target"] == audit.hashed(conversation)
    assert events[5]["actor"] == audit.hashed("credential:Bearer not-a-real-token")
    written = json.dumps(events)
    for secret in (SECRET_WORDS, people.ids["alice"], people.ids["bob"], conversation, invite, "not-a-real-token"):
        assert secret not in written


def test_a_room_made_by_its_name_and_an_invitation_revoked_by_id_are_in_the_trail(people, members, trail_port):
    room = call(members, "POST", "/api/groupchat/members", {"title": "Dossier"}, people.headers["alice"]).json()
    made = call(members, "POST", "/api/groupchat/members", {"conversationId": room["conversationId"]},
                people.headers["alice"]).json()
    assert call(members, "DELETE", f"/api/groupchat/members?conversationId={room['conversationId']}"
                f"&inviteId={made['id']}", headers=people.headers["alice"]).status == 200
    alice = audit.hashed(people.ids["alice"])
    events = [e for e in reversed(read_trail(trail_port, people)) if e["actor"] == alice]
    assert [e["kind"] for e in events] == ["room_created", "invitation_made", "invitation_revoked"]
    assert {e["target"] for e in events} == {audit.hashed(room["conversationId"])}


def test_admins_filter_by_kind_and_day_and_download_csv(people, chat, trail_port):
    wrong = f"Bearer wrong-{uuid.uuid4()}"
    call(chat, "GET", "/api/groupchat/chat", headers={"Authorization": wrong})
    conversation = say(chat, people.headers["alice"], "Bonjour").json()["conversationId"]
    call(chat, "DELETE", f"/api/groupchat/chat?conversationId={conversation}", headers=people.headers["alice"])
    alices = f"?userId={people.ids['alice']}"
    assert [e["kind"] for e in read_trail(trail_port, people, alices + "&kind=conversation_deleted")] == [
        "conversation_deleted"]
    assert read_trail(trail_port, people, alices + "&kind=credential_refused") == []
    assert read_trail(trail_port, people, "?from=2000-01-01&to=2000-01-31") == []
    download = call(trail_port, "GET", AUDIT + "?format=csv&kind=credential_refused", headers=people.headers["root"])
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    lines = download.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "id,at,kind,actor,target,detail"
    assert any(f",credential_refused,{audit.hashed('credential:' + wrong)}," in line for line in lines[1:])
    assert call(trail_port, "GET", AUDIT + "?kind=nope", headers=people.headers["root"]).json()["error"]["field"] == "kind"


def test_reading_the_trail_is_itself_audited(people, trail_port):
    mine = f"?userId={people.ids['root']}"
    read_trail(trail_port, people, mine)
    assert [e["kind"] for e in read_trail(trail_port, people, mine)] == ["admin_read"]


def test_the_store_keeps_lines_append_only(store, backend):
    actor = uuid.uuid4().hex[:24]
    store.append_audit("retention_run", actor, "", {"conversations": 1})
    if backend.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(backend.sqlite_path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("update audit_events set kind = 'admin_read'")
    else:
        rest = backend.postgrest
        service = {"apikey": rest.SERVICE_KEY, "Authorization": f"Bearer {rest.SERVICE_KEY}"}
        reply = call(urlsplit(rest.url).port, "PATCH", "/rest/v1/audit_events?kind=eq.retention_run",
                     {"kind": "admin_read"}, service)
        assert reply.status >= 400, reply.text
    assert [e["kind"] for e in store.audit_events(None, None, None, 10, actor)] == ["retention_run"]


# --- The browser, over the real PostgREST with its anon key and a user's own JWT ---

@pytest.fixture
def rest(postgrest):
    postgrest.faults.clear()
    store = __import__("lib.stores.supabase", fromlist=["SupabaseStore"]).SupabaseStore(
        postgrest.url, postgrest.SERVICE_KEY, 5.0)
    store.append_audit("credential_refused", "f" * 24, "", {"reason": "test"})
    user = str(uuid.uuid4())
    postgrest.postgres.add_user(user)
    return type("Rest", (), {"port": urlsplit(postgrest.url).port, "store": store, "headers": {
        "user": postgrest.as_user(user), "admin by app_metadata": postgrest.as_user(user, **ADMIN),
        "anon": {"apikey": postgrest.ANON_KEY}}})


@pytest.mark.parametrize("who", ["user", "admin by app_metadata", "anon"])
@pytest.mark.parametrize("method, path, body", [
    ("GET", "/rest/v1/audit_events?select=*", None),
    ("POST", "/rest/v1/audit_events", {"kind": "admin_read", "actor": "x"}),
    ("PATCH", "/rest/v1/audit_events?kind=eq.credential_refused", {"kind": "admin_read"}),
    ("DELETE", "/rest/v1/audit_events?kind=eq.credential_refused", None),
])
def test_over_postgrest_the_browser_can_neither_read_nor_write_the_trail(rest, who, method, path, body):
    before = rest.store.audit_events(None, None, None, 1000)
    reply = call(rest.port, method, path, body, headers=rest.headers[who])
    assert reply.status in (401, 403), reply.text
    assert rest.store.audit_events(None, None, None, 1000) == before


@pytest.mark.parametrize("column", ["raw_app_meta_data", "raw_user_meta_data"])
def test_a_signed_in_user_cannot_edit_their_metadata_into_an_admin(postgres, column):
    """Only GoTrue's admin API (the service role) writes app_metadata; the browser's roles cannot touch auth.users.
    (user_metadata, which GoTrue does let a user edit, makes no one an admin: tests/test_admin.py.)"""
    import psycopg

    from tests.test_schema_rls import as_user

    user = str(uuid.uuid4())
    postgres.add_user(user)
    with psycopg.connect(postgres.dsn) as db:
        as_user(db, user)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(f"update auth.users set {column} = %s where id = %s", (json.dumps(ADMIN["app_metadata"]), user))
        db.rollback()
