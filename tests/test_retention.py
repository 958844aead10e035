"""Retention: what is older than HISTORY_RETENTION_DAYS goes (conversations by their last activity, rooms by their
last message, calls, invitations), the audit trail by its own AUDIT_RETENTION_DAYS; the cron route opens only to
CRON_SECRET; the local command runs it too; two runs at once and a turn racing a run leave a consistent store."""

import json
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta

import pytest

from lib import retention, settings
from lib.errors import ConfigError, ConversationNotFound
from tests.helpers import ROOT, call

CRON = "/api/cron/retention"
CRON_SECRET = "cron-secret-0123456789abcdef"


def just_after(timestamp: str) -> str:
    """A cutoff one microsecond after a row's own time: no clock read, no waiting."""
    return (datetime.fromisoformat(timestamp) + timedelta(microseconds=1)).isoformat()


def turn(store, user: str, title: str = "Budget") -> str:
    conversation = str(uuid.uuid4())
    store.record_turn(user, conversation, title, "Question", "Réponse")
    return conversation


def test_old_conversations_calls_and_their_messages_go_and_recent_ones_and_busy_rooms_stay(store, new_user):
    owner, member, other = new_user(), new_user(), new_user()
    old = turn(store, other)
    call_id = f"rtc_{uuid.uuid4().hex}"
    store.record_voice_call(other, call_id, old)
    room = turn(store, owner)  # the owner spoke long ago...
    cutoff = just_after(store.conversation(owner, room)["updatedAt"])
    invite = uuid.uuid4().hex
    store.create_invite(owner, room, "Owner", invite, "2999-01-01T00:00:00+00:00")
    assert store.accept_invite(invite, member, "Member") == (room, "member")
    store.record_room_turn(owner, room, member, "Member", "Bonjour", None)  # ...a member spoke since
    recent = turn(store, other)

    store.prune_history(cutoff)

    assert store.conversation(other, old) is None and store.messages(other, old) == []
    assert store.voice_call(other, call_id) is None
    assert store.conversation(other, recent) is not None
    assert [m["content"] for m in store.messages(owner, room)] == ["Question", "Réponse", "Bonjour"]
    assert store.room_access(member, room).role == "member"
    with pytest.raises(ConversationNotFound):  # a deleted conversation's id is never used again
        store.record_turn(other, old, "Budget", "encore", "réponse")


def test_two_runs_at_once_are_as_one(store, new_user):
    user = new_user()
    old = [turn(store, user) for _ in range(3)]
    cutoff = just_after(store.conversation(user, old[-1])["updatedAt"])
    barrier, errors = threading.Barrier(2), []

    def run():
        barrier.wait()
        try:
            store.prune_history(cutoff)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(store.conversation(user, conversation) is None for conversation in old)


@pytest.mark.parametrize("attempt", range(3))
def test_a_turn_racing_a_run_either_lands_first_and_keeps_it_or_finds_it_deleted(store, new_user, attempt):
    user = new_user()
    conversation = turn(store, user)
    cutoff = just_after(store.conversation(user, conversation)["updatedAt"])
    barrier, outcome = threading.Barrier(2), {}

    def write():
        barrier.wait()
        try:
            store.record_turn(user, conversation, "Budget", "Nouvelle question", "Nouvelle réponse")
            outcome["write"] = "stored"
        except ConversationNotFound:
            outcome["write"] = "deleted"

    def prune():
        barrier.wait()
        store.prune_history(cutoff)

    threads = [threading.Thread(target=write), threading.Thread(target=prune)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contents = [m["content"] for m in store.messages(user, conversation)]
    if outcome["write"] == "stored":
        assert contents == ["Question", "Réponse", "Nouvelle question", "Nouvelle réponse"]
    else:
        assert contents == [] and store.conversation(user, conversation) is None


def test_the_audit_trail_goes_by_its_own_cutoff(store):
    actor = uuid.uuid4().hex[:24]
    store.append_audit("retention_run", actor, "", {})
    cutoff = just_after(store.audit_events(None, None, None, 1, actor)[0]["at"])
    store.append_audit("admin_read", actor, "", {})
    store.prune_audit(cutoff)
    assert [e["kind"] for e in store.audit_events(None, None, None, 10, actor)] == ["admin_read"]


def test_a_run_deletes_by_the_settings_days_and_is_audited(store, new_user, env):
    env.setenv("HISTORY_RETENTION_DAYS", "30")
    env.setenv("AUDIT_RETENTION_DAYS", "365")
    user = new_user()
    conversation = turn(store, user)
    written = datetime.fromisoformat(store.conversation(user, conversation)["updatedAt"])
    history = retention.system_history("test")
    assert retention.run(history, now=written + timedelta(days=29))["history"]["conversations"] >= 0
    assert store.conversation(user, conversation) is not None  # 29 days on: kept
    result = retention.run(history, now=written + timedelta(days=30, seconds=1))
    assert store.conversation(user, conversation) is None and result["history"]["conversations"] >= 1
    runs = store.audit_events(None, None, "retention_run", 2, retention.audit.hashed(retention.SYSTEM_USER_ID))
    assert runs[0]["detail"]["conversations"] == result["history"]["conversations"]


def test_retention_is_off_by_default(store, new_user):
    user = new_user()
    conversation = turn(store, user)
    later = datetime.fromisoformat(store.conversation(user, conversation)["updatedAt"]) + timedelta(days=3650)
    assert retention.run(retention.system_history("test"), now=later) == {"history": None, "audit": None}
    assert store.conversation(user, conversation) is not None


@pytest.mark.parametrize("values, setting", [
    ({"HISTORY_RETENTION_DAYS": "90", "AUDIT_RETENTION_DAYS": "30"}, "AUDIT_RETENTION_DAYS"),
    ({"AUDIT_RETENTION_DAYS": "30"}, "AUDIT_RETENTION_DAYS"),
    ({"HISTORY_RETENTION_DAYS": "-1"}, "HISTORY_RETENTION_DAYS"),
    ({"CRON_SECRET": "short"}, "CRON_SECRET"),
])
def test_settings_that_would_keep_the_trail_shorter_than_history_or_a_weak_secret_are_refused(values, setting):
    with pytest.raises(ConfigError) as refused:
        settings.controls(values)
    assert refused.value.extra["setting"] == setting


@pytest.fixture(scope="module")
def cron_port():
    from tests.firm import hosted

    yield from hosted("cron/retention.py")


@pytest.mark.stores("sqlite", "supabase")
def test_the_cron_route_opens_only_to_the_cron_secret(backend, env, cron_port):
    env.setenv("HISTORY_RETENTION_DAYS", "30")
    assert call(cron_port, "GET", CRON, headers={"Authorization": f"Bearer {CRON_SECRET}"}).status == 404  # unset
    env.setenv("CRON_SECRET", CRON_SECRET)
    for wrong in ({}, {"Authorization": "Bearer wrong-secret-0123456789"}, {"Authorization": CRON_SECRET},
                  {"Authorization": f"Bearer {CRON_SECRET}x"}):
        reply = call(cron_port, "GET", CRON, headers=wrong)
        assert (reply.status, reply.error_code) == (404, "not_found"), wrong
    reply = call(cron_port, "GET", CRON, headers={"Authorization": f"Bearer {CRON_SECRET}"})
    assert reply.status == 200 and set(reply.json()["history"]) == {"conversations", "calls", "invitations"}


def test_vercel_runs_the_cron_route_daily():
    config = json.loads((ROOT / "vercel.json").read_text())
    assert [job["path"] for job in config["crons"]] == [CRON]
    assert "api/cron/retention.py" in config["functions"]


@pytest.mark.stores("sqlite")
def test_the_local_command_runs_it_once(backend, env, tmp_path):
    env.setenv("HISTORY_RETENTION_DAYS", "1")
    user = backend.new_user()
    kept = turn(backend.store(), user)
    done = subprocess.run([sys.executable, "-m", "lib.retention"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout)["history"] == {"conversations": 0, "calls": 0, "invitations": 0}
    assert backend.store().conversation(user, kept) is not None
