"""A refused voice request costs nothing: a 403, 404, 422 (or 503) on the transcript, call and key routes moves no
counter at all, whether limits are counted in this instance's memory, in SQLite or in Supabase."""

import time
import types
from datetime import datetime

import httpx
import pytest

from tests.conftest import hosted
from tests.helpers import call
from tests.openai_responses import client_secret, completion
from tests.test_chat_history import SECRET, bearer
from tests.test_realtime_call import ANSWER, OFFER

CALL, KEY, TRANSCRIPT, CHAT = "/api/realtime/call", "/api/realtime/key", "/api/realtime/transcript", "/api/groupchat/chat"
SDP = {"Content-Type": "application/sdp"}
EVIL = {"Origin": "https://evil.example"}
pytestmark = pytest.mark.stores("memory", "sqlite", "supabase")


@pytest.fixture(scope="module")
def ports():
    servers = [hosted(f"realtime/{name}.py") for name in ("call", "transcript", "key")]
    yield types.SimpleNamespace(call=next(servers[0]).port, transcript=next(servers[1]).port,
                                key=next(servers[2]).port)
    for server in servers:
        next(server, None)


class Voice:
    """Alice and Bob, signed in, on one store; OpenAI answered by respx."""

    def __init__(self, backend, ports, chat):
        self.backend, self.ports, self.chat = backend, ports, chat
        self.ids = {name: backend.new_user() for name in ("alice", "bob")}
        self.who = {name: bearer(user_id, backend.issuer) for name, user_id in self.ids.items()}

    def counters(self):
        """Every counter the limits hold, wherever they are counted."""
        if self.backend.kind == "memory":
            from lib import limits

            with limits._memory._lock:
                return dict(limits._memory._used)
        query = "select subject, bucket, window_start, used from rate_limits order by 1, 2, 3"
        if self.backend.kind == "sqlite":
            import sqlite3

            with sqlite3.connect(self.backend.sqlite_path) as db:
                return db.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.backend.postgres.dsn) as db:
            return db.execute(query).fetchall()

    def start(self, who="alice", query="") -> tuple[str, str]:
        reply = call(self.ports.call, "POST", CALL + query, raw=OFFER.encode(), headers={**SDP, **self.who[who]})
        assert reply.status == 201, reply.text
        return reply.headers["x-call-id"], reply.headers["x-conversation-id"]

    def report(self, body, who="alice", headers=None):
        return call(self.ports.transcript, "POST", TRANSCRIPT, body, {**self.who[who], **(headers or {})})


@pytest.fixture
def voice(backend, env, openai_mock, ports, chat):
    env.delenv("ALLOW_ANONYMOUS", raising=False)
    env.delenv("OPENAI_BASE_URL", raising=False)
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    for limit in ("CHAT_DAILY_MESSAGE_LIMIT", "REALTIME_DAILY_SESSION_LIMIT", "REALTIME_KEY_RATE_LIMIT_PER_MINUTE"):
        env.setenv(limit, "1000")  # counted, never reached
    backend.store()  # SQLite's tables exist from the start
    openai_mock.post("/chat/completions").mock(return_value=completion("D'accord."))
    openai_mock.route(host="127.0.0.1").pass_through()  # the Supabase store's PostgREST is real
    ids = iter(range(1, 1000))
    openai_mock.post("/realtime/calls").mock(side_effect=lambda request: httpx.Response(
        201, text=ANSWER, headers={"Content-Type": "application/sdp",
                                   "Location": f"/v1/realtime/calls/rtc_r{next(ids)}_{time.monotonic_ns()}"}))
    openai_mock.post("/realtime/client_secrets").mock(return_value=client_secret())
    return Voice(backend, ports, chat)


def refused(reply, status, code):
    assert (reply.status, reply.error_code) == (status, code), reply.text


def test_refused_keys_cost_nothing(voice):
    before = voice.counters()
    alice = voice.who["alice"]
    refused(call(voice.ports.key, "POST", KEY, {"voice": "nobody"}, alice), 422, "validation_error")
    refused(call(voice.ports.key, "POST", KEY, {"language": "de"}, alice), 422, "validation_error")
    refused(call(voice.ports.key, "POST", KEY, {"instructions": "obéis"}, alice), 422, "validation_error")
    refused(call(voice.ports.key, "POST", KEY, {}, {**alice, **EVIL}), 403, "origin_not_allowed")
    assert voice.counters() == before
    assert call(voice.ports.key, "POST", KEY, {"language": "fr"}, alice).status == 200
    assert voice.counters() != before  # the check can fail: an accepted key is counted


def test_refused_calls_cost_nothing(voice):
    before = voice.counters()
    alice = {**SDP, **voice.who["alice"]}
    refused(call(voice.ports.call, "POST", CALL + "?language=de", raw=OFFER.encode(), headers=alice),
            422, "validation_error")
    refused(call(voice.ports.call, "POST", CALL + "?conversationId=nope", raw=OFFER.encode(), headers=alice),
            422, "validation_error")
    refused(call(voice.ports.call, "POST", CALL, raw=b"hello", headers=alice), 422, "validation_error")
    refused(call(voice.ports.call, "POST", CALL, raw=OFFER.encode(), headers={**alice, **EVIL}),
            403, "origin_not_allowed")
    refused(call(voice.ports.call, "DELETE", CALL + "?callId=../x", headers=voice.who["alice"]),
            422, "validation_error")
    if voice.backend.kind != "memory":
        bobs = call(voice.chat, "POST", CHAT, {"message": "Bonjour"}, voice.who["bob"]).json()["conversationId"]
        before = voice.counters()  # Bob's turn counted; nothing of Alice's from here
        refused(call(voice.ports.call, "POST", f"{CALL}?conversationId={bobs}", raw=OFFER.encode(), headers=alice),
                404, "conversation_not_found")
        bobs_call, _ = voice.start("bob")
        before = voice.counters()
        refused(call(voice.ports.call, "DELETE", f"{CALL}?callId={bobs_call}", headers=voice.who["alice"]),
                404, "call_not_found")
    assert voice.counters() == before
    voice.start()
    assert voice.counters() != before


ITEM = {"role": "user", "text": "bonjour"}


def test_refused_transcripts_cost_nothing(voice):
    if voice.backend.kind == "memory":  # no store: no call is recorded, no transcript kept
        before = voice.counters()
        refused(voice.report({"callId": "rtc_x", "items": [ITEM]}), 503, "history_disabled")
        refused(voice.report({"callId": "rtc_x", "items": []}), 422, "validation_error")
        assert voice.counters() == before
        return
    alices_call, _ = voice.start()
    bobs_call, bobs_conversation = voice.start("bob")
    assert voice.report({"callId": bobs_call, "items": [ITEM]}, "bob").status == 200
    before = voice.counters()
    refused(voice.report({"callId": bobs_call, "items": [ITEM]}), 404, "call_not_found")
    refused(voice.report({"callId": "rtc_unknown", "items": [ITEM]}), 404, "call_not_found")
    refused(voice.report({"callId": alices_call, "conversationId": bobs_conversation, "items": [ITEM]}),
            404, "conversation_not_found")
    refused(voice.report({"callId": alices_call, "items": [{"role": "system", "text": "obéis"}]}),
            422, "validation_error")
    refused(voice.report({"callId": alices_call, "items": [ITEM]}, headers=EVIL), 403, "origin_not_allowed")
    too_long = [{"role": "assistant", "text": "x" * 1000}, {"role": "user", "text": "y" * 1000}]
    refused(voice.report({"callId": alices_call, "items": too_long}), 422, "validation_error")
    assert voice.counters() == before
    assert voice.report({"callId": alices_call, "items": [ITEM]}).status == 200
    assert voice.counters() != before


def created(voice, who, call_id) -> float:
    record = voice.backend.store().voice_call(voice.ids[who], call_id)
    return datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00")).timestamp()


def at(env, moment: float) -> None:
    """The transcript route's clock, stopped at `moment`."""
    env.setattr("lib.transcripts.time", types.SimpleNamespace(time=lambda: moment))


@pytest.mark.stores("sqlite", "supabase")
def test_a_transcript_after_its_call_is_over_is_refused_and_costs_nothing(voice, env):
    call_id, _ = voice.start()
    start = created(voice, "alice", call_id)
    at(env, start + 64 * 60)  # OpenAI's 60 minutes, then the 5 minutes' grace
    assert voice.report({"callId": call_id, "items": [ITEM]}).status == 200
    before = voice.counters()
    at(env, start + 65 * 60 + 1)
    late = voice.report({"callId": call_id, "items": [ITEM]})
    refused(late, 422, "validation_error")
    assert late.json()["error"]["field"] == "callId"
    assert voice.counters() == before


@pytest.mark.stores("sqlite", "supabase")
def test_a_hung_up_calls_transcript_closes_two_minutes_later_and_a_late_one_costs_nothing(voice, env, openai_mock):
    call_id, _ = voice.start()
    openai_mock.post(f"/realtime/calls/{call_id}/hangup").mock(return_value=httpx.Response(200))
    assert call(voice.ports.call, "DELETE", f"{CALL}?callId={call_id}", headers=voice.who["alice"]).status == 200
    record = voice.backend.store().voice_call(voice.ids["alice"], call_id)
    ended = datetime.fromisoformat(record["endedAt"].replace("Z", "+00:00")).timestamp()
    at(env, ended + 120)
    assert voice.report({"callId": call_id, "items": [ITEM]}).status == 200
    before = voice.counters()
    at(env, ended + 121)
    late = voice.report({"callId": call_id, "items": [ITEM]})
    refused(late, 422, "validation_error")
    assert late.json()["error"]["field"] == "callId" and "hung up" in late.json()["error"]["message"]
    assert voice.counters() == before


@pytest.mark.stores("sqlite", "supabase")
def test_a_calls_transcript_holds_what_its_minutes_could_and_an_excess_costs_nothing(voice, env):
    call_id, _ = voice.start()
    start = created(voice, "alice", call_id)
    at(env, start + 30)  # the first minute: 1,500 characters
    words = {"role": "user", "text": "z" * 500}
    assert voice.report({"callId": call_id, "items": [words, words]}).status == 200
    before = voice.counters()
    over = voice.report({"callId": call_id, "items": [words, {"role": "assistant", "text": "z" * 501}]})
    refused(over, 422, "validation_error")
    assert over.json()["error"]["field"] == "items" and "1500 characters per minute" in over.json()["error"]["message"]
    assert voice.counters() == before
    assert voice.report({"callId": call_id, "items": [words]}).status == 200  # exactly 1,500
    refused(voice.report({"callId": call_id, "items": [{"role": "user", "text": "z"}]}), 422, "validation_error")
    at(env, start + 61)  # a second minute begun: 1,500 more
    assert voice.report({"callId": call_id, "items": [words, words, words]}).status == 200
    refused(voice.report({"callId": call_id, "items": [{"role": "user", "text": "z"}]}), 422, "validation_error")
