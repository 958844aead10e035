"""POST /api/realtime/call relays the browser's SDP offer with our key and session; DELETE hangs up the caller's call."""

import json
from email.parser import BytesParser
from email.policy import HTTP

import httpx
import pytest

from tests.conftest import hosted
from tests.helpers import call
from tests.openai_responses import error

CALL = "/api/realtime/call"
OFFER = ("v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
         "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n")
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture(scope="module")
def call_server():
    yield from hosted("realtime/call.py")


@pytest.fixture
def relay(call_server, env, tmp_path):
    """The call endpoint's port, with a SQLite history that records whose calls are whose."""
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    return call_server.port


def answered(call_id: str = "rtc_abc123") -> httpx.Response:
    return httpx.Response(201, text=ANSWER, headers={"Content-Type": "application/sdp",
                                                     "Location": f"/v1/realtime/calls/{call_id}"})


@pytest.fixture
def openai_mock(openai_mock):
    openai_mock.post("/realtime/calls").mock(return_value=answered())
    openai_mock.post("/realtime/calls/rtc_abc123/hangup").mock(return_value=httpx.Response(200))
    return openai_mock


def start(port, offer: str = OFFER, query: str = "", headers: dict | None = None):
    return call(port, "POST", CALL + query, raw=offer.encode(), headers={**SDP, **(headers or {})})


def form_sent(request) -> dict:
    """The multipart form the server sent OpenAI, {name: (content type, text)}."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.content)
    return {part.get_param("name", header="content-disposition"):
            (part.get_content_type(), part.get_payload(decode=True).decode()) for part in message.iter_parts()}


def test_the_offer_goes_to_openai_with_our_key_and_session_and_the_answer_comes_back(relay, openai_mock):
    reply = start(relay)
    assert (reply.status, reply.headers["content-type"], reply.text) == (201, "application/sdp", ANSWER)
    assert reply.headers["x-call-id"] == "rtc_abc123"
    assert len(reply.headers["x-conversation-id"]) == 36
    request = openai_mock.calls.last.request
    assert request.url.path == "/v1/realtime/calls"
    assert request.headers["authorization"].startswith("Bearer sk-canary-")
    form = form_sent(request)
    assert form["sdp"] == ("application/sdp", OFFER)
    assert form["session"][0] == "application/json"
    assert json.loads(form["session"][1]) == {
        "type": "realtime", "model": "gpt-realtime-2",
        "audio": {"input": {"transcription": {"model": "gpt-transcribe"}}, "output": {"voice": "marin"}},
    }


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_users_speech_is_transcribed_in_the_pages_language(relay, openai_mock, language):
    from tests.openai_spec import assert_conforms, problems

    assert start(relay, query=f"?language={language}").status == 201
    session = json.loads(form_sent(openai_mock.calls.last.request)["session"][1])
    assert session["audio"]["input"]["transcription"] == {"model": "gpt-transcribe", "language": language}
    assert_conforms("RealtimeCallCreateRequest", {"sdp": OFFER, "session": session})
    session["audio"]["input"]["transcription"]["language"] = ["fr"]
    assert problems("RealtimeCallCreateRequest", {"sdp": OFFER, "session": session})  # the schema does check it


@pytest.mark.parametrize("query", ["?language=de", "?language=FR", "?language=fr-FR"])
def test_another_language_is_422_before_openai(relay, openai_mock, query):
    reply = start(relay, query=query)
    assert (reply.status, reply.error_code, reply.json()["error"]["field"]) == (422, "validation_error", "language")
    assert not openai_mock.calls


def test_no_key_or_secret_reaches_the_browser(relay, openai_mock):
    reply = start(relay)
    everything = reply.text + json.dumps(reply.headers)
    assert "sk-canary" not in everything and "ek_" not in everything


def test_server_instructions_are_part_of_the_session(relay, openai_mock, env):
    env.setenv("REALTIME_INSTRUCTIONS", "Réponds en français.")
    start(relay)
    assert json.loads(form_sent(openai_mock.calls.last.request)["session"][1])["instructions"] == "Réponds en français."


@pytest.mark.parametrize("content_type, status, code", [
    ("application/json", 415, "unsupported_media_type"),
    ("text/plain", 415, "unsupported_media_type"),
])
def test_an_offer_must_be_sent_as_sdp(relay, openai_mock, content_type, status, code):
    reply = call(relay, "POST", CALL, raw=OFFER.encode(), headers={"Content-Type": content_type})
    assert (reply.status, reply.error_code) == (status, code)
    assert not openai_mock.calls


@pytest.mark.parametrize("body", [b"", b"hello", b"v=0\r\nm=video 9 RTP 96\r\n", b"\xff\xfe", b"v=0\r\n\x00m=audio 9 x\r\n"])
def test_what_is_not_an_audio_offer_is_422(relay, openai_mock, body):
    reply = call(relay, "POST", CALL, raw=body, headers=SDP)
    assert (reply.status, reply.error_code) == (422, "validation_error")
    assert not openai_mock.calls


def test_an_oversized_offer_is_413(relay, openai_mock):
    reply = start(relay, OFFER + "a=x-padding:" + "x" * 40_000 + "\r\n")
    assert (reply.status, reply.error_code) == (413, "payload_too_large")
    assert not openai_mock.calls


def test_the_same_access_rules_as_the_key_route(relay, openai_mock, env):
    env.delenv("ALLOW_ANONYMOUS")
    assert start(relay).error_code == "auth_not_configured"
    env.setenv("DASHBOARD_TOKEN", "t0ken")
    assert start(relay).status == 401
    assert start(relay, headers={"Authorization": "Bearer t0ken", "Origin": "https://evil.example"}).status == 403
    assert start(relay, headers={"Authorization": "Bearer t0ken"}).status == 201
    assert len(openai_mock.calls) == 1


def test_the_key_routes_limit_counts_calls_too(relay, openai_mock, env):
    env.setenv("REALTIME_KEY_RATE_LIMIT_PER_MINUTE", "1")
    from tests.helpers import freeze_limit_clock

    freeze_limit_clock(env)
    assert start(relay).status == 201
    refused = start(relay)
    assert (refused.status, refused.error_code) == (429, "rate_limited")
    assert len(openai_mock.calls) == 1


def test_a_conversation_not_the_callers_is_404_before_openai(relay, openai_mock):
    reply = start(relay, query="?conversationId=123e4567-e89b-12d3-a456-426614174000")
    assert (reply.status, reply.error_code) == (404, "conversation_not_found")
    assert not openai_mock.calls


def test_a_conversation_id_must_be_a_uuid(relay, openai_mock):
    assert start(relay, query="?conversationId=nope").status == 422


@pytest.mark.parametrize("answer, code", [
    (error(401, "invalid_api_key"), "upstream_auth"),
    (error(429, "insufficient_quota"), "upstream_quota"),
    (httpx.Response(201, text=ANSWER, headers={"Content-Type": "application/sdp"}), "upstream_bad_response"),
    (httpx.Response(201, text="<html>", headers={"Location": "/v1/realtime/calls/rtc_1"}), "upstream_bad_response"),
])
def test_openai_failures_are_the_usual_json_errors(relay, openai_mock, answer, code):
    openai_mock.post("/realtime/calls").mock(side_effect=[answer])
    reply = start(relay)
    assert reply.error_code == code and reply.headers["content-type"] == "application/json"


def test_the_caller_hangs_up_their_own_call(relay, openai_mock):
    assert start(relay).status == 201
    reply = call(relay, "DELETE", CALL + "?callId=rtc_abc123")
    assert (reply.status, reply.json()) == (200, {"callId": "rtc_abc123", "ended": True})
    assert openai_mock.calls.last.request.url.path == "/v1/realtime/calls/rtc_abc123/hangup"


def test_a_call_already_over_at_openai_is_ended_all_the_same(relay, openai_mock):
    openai_mock.post("/realtime/calls/rtc_abc123/hangup").mock(return_value=error(404, "call_not_found"))
    start(relay)
    assert call(relay, "DELETE", CALL + "?callId=rtc_abc123").status == 200


def test_nobody_else_hangs_up_a_call(relay, openai_mock, env):
    env.setenv("DASHBOARD_TOKEN", "t0ken")
    assert start(relay, headers={"Authorization": "Bearer t0ken"}).status == 201  # the token's user
    reply = call(relay, "DELETE", CALL + "?callId=rtc_abc123")  # an anonymous caller
    assert (reply.status, reply.error_code) == (404, "call_not_found")
    assert call(relay, "DELETE", CALL + "?callId=rtc_unknown").error_code == "call_not_found"
    assert not [c for c in openai_mock.calls if c.request.url.path.endswith("/hangup")]


@pytest.mark.parametrize("query", ["", "?callId=", "?callId=../../models", "?callId=" + "x" * 201])
def test_a_missing_or_odd_call_id_is_422(relay, openai_mock, query):
    assert call(relay, "DELETE", CALL + query).status == 422


def test_a_store_that_cannot_record_the_call_hangs_it_up_again(relay, openai_mock, env, tmp_path):
    from lib.stores.sqlite import SqliteStore

    def broken(self, *args):
        from lib.stores import StoreUnavailable

        raise StoreUnavailable("SQLite: OperationalError")

    env.setattr(SqliteStore, "record_voice_call", broken)
    reply = start(relay)
    assert (reply.status, reply.error_code) == (503, "history_unavailable")
    assert openai_mock.calls.last.request.url.path == "/v1/realtime/calls/rtc_abc123/hangup"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_other_methods_are_405(relay, method):
    assert call(relay, method, CALL).headers["allow"] == "POST, DELETE, OPTIONS"


def test_the_real_handler_relays_through_the_loopback_openai(relay, fake_openai):
    pytest.importorskip("aiortc")
    offer = browser_like_offer()
    reply = start(relay, offer)
    assert reply.status == 201 and reply.text.startswith("v=0")
    call_id = reply.headers["x-call-id"]
    assert fake_openai.calls[call_id]["session"]["audio"]["input"]["transcription"] == {"model": "gpt-transcribe"}
    assert call(relay, "DELETE", CALL + f"?callId={call_id}").status == 200
    assert fake_openai.calls[call_id]["ended"]


def browser_like_offer() -> str:
    """A real WebRTC offer with audio and the events data channel, made by aiortc."""
    import asyncio

    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack

    async def make():
        peer = RTCPeerConnection()
        peer.addTrack(AudioStreamTrack())
        peer.createDataChannel("oai-events")
        await peer.setLocalDescription(await peer.createOffer())
        sdp = peer.localDescription.sdp
        await peer.close()
        return sdp

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:  # its own event loop, even when the test's thread runs one (Playwright)
        return thread.submit(asyncio.run, make()).result(30)


def test_each_store_keeps_whose_call_is_whose(store):
    import uuid

    alice, bob, conversation = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    store.record_voice_call(alice, "rtc_store_test_" + alice[:8], conversation)
    record = store.voice_call(alice, "rtc_store_test_" + alice[:8])
    assert (record["id"], record["conversationId"]) == ("rtc_store_test_" + alice[:8], conversation)
    assert store.voice_call(bob, "rtc_store_test_" + alice[:8]) is None
    assert store.voice_call(alice, "rtc_unknown") is None


def test_each_store_notes_once_when_the_owner_hung_up(store):
    import uuid
    from datetime import datetime

    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    call_id = "rtc_end_test_" + alice[:8]
    store.record_voice_call(alice, call_id, str(uuid.uuid4()))
    assert store.voice_call(alice, call_id)["endedAt"] is None
    store.end_voice_call(bob, call_id)
    assert store.voice_call(alice, call_id)["endedAt"] is None  # only its owner ends it
    store.end_voice_call(alice, call_id)
    ended = store.voice_call(alice, call_id)["endedAt"]
    assert datetime.fromisoformat(ended) >= datetime.fromisoformat(store.voice_call(alice, call_id)["createdAt"])
    store.end_voice_call(alice, call_id)
    assert store.voice_call(alice, call_id)["endedAt"] == ended  # the first hang-up counts


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("statement", ["select * from public.realtime_calls",
                                       "insert into public.realtime_calls (id, user_id, conversation_id) "
                                       "values ('rtc_forged', gen_random_uuid(), gen_random_uuid())"])
def test_browser_roles_can_neither_read_nor_forge_call_records(postgres, role, statement):
    import psycopg

    with psycopg.connect(postgres.dsn) as db:
        db.execute(f"set local role {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(statement)
        db.rollback()


def test_the_voice_relays_timeouts_and_retry_end_before_its_limit(env):
    from lib import settings, upstream

    env.setenv("OPENAI_TIMEOUT_SECONDS", "55")  # the most the setting allows
    for function in ("realtime/key", "realtime/call"):
        attempt = upstream.attempt_timeout(settings.openai(), function)
        worst = 2 * attempt + upstream.MAX_RETRY_AFTER_SECONDS
        assert worst < settings.MAX_DURATION_SECONDS[function] - settings.DEADLINE_MARGIN_SECONDS + 0.001


@pytest.mark.parametrize("failure", [error(500, "server_error", "server_error"), httpx.ReadTimeout("slow"),
                                     httpx.RemoteProtocolError("cut")], ids=["500", "timeout", "cut"])
def test_a_call_openai_may_have_started_is_never_tried_twice(relay, openai_mock, failure):
    route = openai_mock.post("/realtime/calls")
    route.side_effect = [failure, answered()]
    reply = start(relay)
    assert reply.status in (502, 504)
    assert route.call_count == 1  # a second try could start a second voice call


def test_a_call_openai_rate_limited_is_tried_again(relay, openai_mock):
    route = openai_mock.post("/realtime/calls")
    route.side_effect = [error(429, "rate_limit_exceeded", headers={"retry-after-ms": "10"}), answered()]
    assert start(relay).status == 201
    assert route.call_count == 2
