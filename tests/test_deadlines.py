"""Every request ends on time: its platform limit, the streamed reply's deadline on a frozen clock, heartbeats, a
status while the model thinks, hang-ups, and upstream reads bounded in time and size."""

import json
import re
import threading
import time
from pathlib import Path

import jwt
import pytest

from lib import deadline, settings
from tests.helpers import call, open_stream, read_event

CHAT = "/api/groupchat/chat"
ROOT = Path(__file__).resolve().parent.parent
SECRET = "jwt-secret-for-tests-0123456789abcdef0123"
ALICE: dict = {}


@pytest.fixture
def history(backend, env, fake_openai):
    """History on, in each store; Alice is a Supabase user."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    claims = {"sub": backend.new_user(), "aud": "authenticated", "exp": int(time.time()) + 600}
    if backend.issuer:
        claims["iss"] = backend.issuer
    ALICE.clear()
    ALICE["Authorization"] = f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"
    return backend


def messages_of(port, conversation):
    reply = call(port, "GET", f"{CHAT}?conversationId={conversation}", headers=ALICE)
    assert reply.status == 200, reply.text
    return [(m["role"], m["content"], m["status"]) for m in reply.json()["messages"]]


def read_frame(response) -> str:
    """The next SSE block as text (an event or a comment)."""
    lines = []
    while True:
        line = response.readline().decode()
        if not line:
            raise EOFError("stream ended")
        if line == "\n" and lines:
            return "".join(lines)
        lines.append(line)


# --- each function's platform limit --------------------------------------------------------------------------

def test_each_functions_limit_is_vercels_max_duration_and_the_readmes():
    functions = json.loads((ROOT / "vercel.json").read_text())["functions"]
    assert {name.removeprefix("api/").removesuffix(".py"): spec["maxDuration"]
            for name, spec in functions.items()} == settings.MAX_DURATION_SECONDS
    readme = (ROOT / "README.md").read_text()
    stated = dict(re.findall(r"^\| `api/([\w/]+)\.py` \| (\d+) s \|", readme, re.MULTILINE))
    assert {name: int(seconds) for name, seconds in stated.items()} == settings.MAX_DURATION_SECONDS


# --- the streamed reply's deadline ---------------------------------------------------------------------------

def test_a_reply_reaching_its_deadline_ends_cleanly_and_is_stored_interrupted(chat, history, fake_openai, clock):
    fake_openai.gate = threading.Event()  # OpenAI holds its reply after the first words
    connection, response = open_stream(chat, CHAT, {"message": "un deux trois", "stream": True}, ALICE)
    first = read_event(response)
    assert first == {"type": "delta", "text": "Echo: "}
    clock.advance(settings.MAX_DURATION_SECONDS["groupchat/chat"] - settings.DEADLINE_MARGIN_SECONDS)
    last = read_event(response)
    assert (last["type"], last["finishReason"], last["message"]) == ("done", "time_limit", "Echo: ")
    assert last["saved"] is True
    with pytest.raises(EOFError):
        read_event(response)  # nothing after it: the stream is closed
    connection.close()
    assert not fake_openai.gate.is_set()  # it ended while OpenAI was still holding its reply
    fake_openai.gate.set()
    assert messages_of(chat, last["conversationId"])[-1] == ("assistant", "Echo: ", "interrupted")


def test_a_reply_in_time_is_untouched_by_the_deadline(chat, fake_openai, clock):
    clock.advance(settings.MAX_DURATION_SECONDS["groupchat/chat"] - settings.DEADLINE_MARGIN_SECONDS - 1)
    events = call(chat, "POST", CHAT, {"message": "bonjour", "stream": True}).events()
    assert (events[-1]["type"], events[-1]["finishReason"]) == ("done", "stop")


def test_a_thinking_model_gets_a_status_then_heartbeats(chat, fake_openai, clock):
    fake_openai.thinking = threading.Event()  # its role at once, then no words until the test lets it go
    connection, response = open_stream(chat, CHAT, {"message": "réfléchis", "stream": True})
    clock.advance(deadline.THINKING_AFTER_SECONDS)
    assert read_event(response) == {"type": "status", "status": "thinking"}
    clock.advance(settings.HEARTBEAT_SECONDS)
    assert read_frame(response) == ": keepalive\n"  # an SSE comment: the page and any proxy see a live line
    clock.advance(settings.HEARTBEAT_SECONDS)
    assert read_frame(response) == ": keepalive\n"
    fake_openai.thinking.set()
    events = [read_event(response)]
    while events[-1]["type"] == "delta":
        events.append(read_event(response))
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Echo: réfléchis"
    connection.close()


def test_a_heartbeat_is_sent_only_after_a_quiet_spell(chat, fake_openai, clock):
    fake_openai.gate = threading.Event()
    connection, response = open_stream(chat, CHAT, {"message": "un deux", "stream": True})
    assert read_event(response)["type"] == "delta"
    clock.advance(settings.HEARTBEAT_SECONDS)
    assert read_frame(response) == ": keepalive\n"
    fake_openai.gate.set()
    rest = [read_event(response)]
    while rest[-1]["type"] == "delta":
        rest.append(read_event(response))
    assert rest[-1]["type"] == "done"  # no more heartbeats: the clock stood still
    connection.close()


def test_a_private_reply_the_caller_hangs_up_on_stops_reading_openai_at_once(chat, chat_server, history,
                                                                             fake_openai):
    fake_openai.gate = threading.Event()  # OpenAI holds its reply, as a reasoning model would
    connection, response = open_stream(chat, CHAT, {"message": "un deux trois", "stream": True}, ALICE)
    first = read_event(response)
    response.close()
    connection.close()
    chat_server.wait_idle(20)  # ends while OpenAI still holds the reply: the server saw the hang-up itself
    assert not fake_openai.gate.is_set()
    conversation = call(chat, "GET", CHAT, headers=ALICE).json()["conversations"][0]["id"]
    assert messages_of(chat, conversation)[-1] == ("assistant", first["text"], "interrupted")


# --- upstream reads bounded ----------------------------------------------------------------------------------

def test_an_endless_error_body_is_cut_at_its_bound(chat, fake_openai):
    fake_openai.fail_next("endless_error", "endless_error")  # and its retry
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_error")
    assert fake_openai.stream_aborted.wait(20), "the stand-in was never cut off"


def test_a_header_block_past_its_bound_is_an_unreachable_upstream(chat, fake_openai):
    fake_openai.fail_next("huge_headers", "huge_headers")
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")


def test_a_stream_line_past_its_bound_is_a_bad_response():
    from lib import openai_stream
    from lib.errors import UpstreamBadResponse

    class Endless:
        headers = {}

        def blocks(self, tick=None):
            while True:
                yield b"data: " + b"x" * 65536

    with pytest.raises(UpstreamBadResponse):
        for _ in openai_stream.chunks(Endless()):
            pass


# --- whole answers (the reply, the key, the call relay) end by their deadline --------------------------------

OFFER = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
         "c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n")


@pytest.fixture(scope="module")
def call_server():
    from tests.conftest import hosted

    yield from hosted("realtime/call.py")


@pytest.fixture
def whole_answers(chat, key, call_server):
    """Each route reading a whole answer from OpenAI: (its function, a request to it)."""
    return {
        "whole reply": ("groupchat/chat", lambda: call(chat, "POST", CHAT, {"message": "hi"})),
        "moderated reply": ("groupchat/chat", lambda: call(chat, "POST", CHAT, {"message": "hi"})),
        "realtime key": ("realtime/key", lambda: call(key, "POST", "/api/realtime/key", {})),
        "call relay": ("realtime/call", lambda: call(call_server.port, "POST", "/api/realtime/call",
                                                     raw=OFFER.encode(), headers={"Content-Type": "application/sdp"})),
    }


@pytest.mark.parametrize("fault", ["drip", "header_drip", "error_drip"])
@pytest.mark.parametrize("route", ["whole reply", "moderated reply", "realtime key", "call relay"])
def test_an_answer_that_never_finishes_ends_at_the_deadline_with_our_error(whole_answers, fake_openai, clock, env,
                                                                         route, fault):
    """Each byte in time for OPENAI_TIMEOUT_SECONDS, the whole never: the function's deadline cuts it."""
    if route == "moderated reply":
        env.setenv("MODERATION", "on")
    function, request = whole_answers[route]
    fake_openai.fail_next(fault, fault)
    replies = []
    thread = threading.Thread(target=lambda: replies.append(request()))
    thread.start()
    assert fake_openai.dripping.wait(20), "the stand-in never began its answer"
    clock.advance(settings.MAX_DURATION_SECONDS[function] - settings.DEADLINE_MARGIN_SECONDS)
    thread.join(60)
    assert replies and (replies[0].status, replies[0].error_code) == (504, "upstream_timeout")
    assert fake_openai.stream_aborted.wait(20), "the stand-in was never cut off"
    assert len(fake_openai.requests) == 1  # past the deadline: no second attempt


@pytest.mark.parametrize("fault", ["drip", "header_drip", "error_drip"])
def test_a_streamed_reply_openai_drips_ends_at_the_deadline(chat, history, fake_openai, clock, fault):
    """The streamed chat against an answer that is alive but never done (its first event, its headers, its error
    body, a byte at a time): the function's deadline ends it with our answer, OpenAI's connection is cut, there is
    no second attempt, and no reply is stored."""
    fake_openai.fail_next(fault, fault)
    replies = []
    thread = threading.Thread(target=lambda: replies.append(
        call(chat, "POST", CHAT, {"message": "goutte à goutte", "stream": True}, ALICE)))
    thread.start()
    assert fake_openai.dripping.wait(20), "the stand-in never began its answer"
    clock.advance(settings.MAX_DURATION_SECONDS["groupchat/chat"] - settings.DEADLINE_MARGIN_SECONDS)
    thread.join(60)
    [reply] = replies
    if reply.status == 200:  # the stream had begun: its last event says why it ended
        last = reply.events()[-1]
        assert (last["type"], last.get("finishReason")) == ("done", "time_limit")
    else:
        assert (reply.status, reply.error_code) == (504, "upstream_timeout")
    assert fake_openai.stream_aborted.wait(20), "the stand-in was never cut off"
    assert len(fake_openai.requests) == 1  # past the deadline: no second attempt
    listed = call(chat, "GET", CHAT, headers=ALICE).json()["conversations"]
    assert all(m[0] == "user" or m[2] == "interrupted" for m in messages_of(chat, listed[0]["id"])) if listed else True


@pytest.mark.parametrize("fault, code", [("endless_error", "upstream_error"), ("huge_headers", "upstream_unreachable")])
@pytest.mark.parametrize("stream", [True, False])
def test_an_endless_answer_leaves_the_functions_memory_flat(chat, fake_openai, fault, code, stream):
    """What the function holds while OpenAI sends without end: the answer is cut at its bound, not kept."""
    import tracemalloc

    assert call(chat, "POST", CHAT, {"message": "échauffement", "stream": stream}).status == 200  # imports done
    fake_openai.fail_next(fault, fault)
    tracemalloc.start()
    try:
        reply = call(chat, "POST", CHAT, {"message": "hi", "stream": stream})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (reply.status, reply.error_code) == (502, code)
    assert peak < 8 * 2**20, f"the function held {peak / 2**20:.1f} MiB"
