"""Streaming replies over a real socket, against the loopback OpenAI stand-in: order, flushing, cut streams."""

import gzip
import json
import threading

import httpx
import pytest

from dev.fake_openai import reply_for
from lib import log, openai_stream, settings
from lib.errors import UpstreamQuota
from tests.helpers import CANARY_KEY, call, open_stream, read_event
from tests.openai_responses import error, stream

CHAT = "/api/groupchat/chat"


def test_a_streamed_reply_is_deltas_then_one_done(chat, fake_openai):
    reply = call(chat, "POST", CHAT, {"message": "le solde du compte courant", "stream": True})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["cache-control"].startswith("no-store")
    events = reply.events()
    kinds = [event["type"] for event in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"} and len(kinds) > 3
    done = events[-1]
    assert done["message"] == "".join(event["text"] for event in events[:-1]) == reply_for("le solde du compte courant")
    assert done["usage"]["total_tokens"] > 0
    assert done["finishReason"] == "stop"
    assert len(done["conversationId"]) == 36


def test_accepting_only_event_streams_asks_for_a_stream(chat, fake_openai):
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"Accept": "text/event-stream"})
    assert [event["type"] for event in reply.events()][-1] == "done"


def test_the_stream_asks_openai_for_usage(chat, fake_openai):
    call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    body = fake_openai.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_each_delta_is_flushed_while_openai_is_still_sending(chat, fake_openai):
    fake_openai.gate = threading.Event()  # the stand-in holds its stream after the first chunk
    connection, response = open_stream(chat, CHAT, {"message": "un deux trois", "stream": True})
    try:
        first = read_event(response)
        assert first == {"type": "delta", "text": "Echo: "}
        assert not fake_openai.gate.is_set()  # it reached us while the upstream was still held
    finally:
        fake_openai.gate.set()
    rest = []
    while not rest or rest[-1]["type"] == "delta":
        rest.append(read_event(response))
    assert rest[-1]["type"] == "done"
    connection.close()


def test_a_stream_cut_by_openai_ends_with_error_never_done(chat, fake_openai):
    reply = call(chat, "POST", CHAT, {"message": "one two three four five six", "stream": True})
    fake_openai.fail_next("cut")
    reply = call(chat, "POST", CHAT, {"message": "one two three four five six", "stream": True})
    events = reply.events()
    assert [event["type"] for event in events[:-1]] == ["delta"] * (len(events) - 1)
    assert len(events) > 1
    assert events[-1] == {"type": "error", "error": {"code": "upstream_stream_interrupted",
                                                     "message": events[-1]["error"]["message"]}}


def test_an_error_event_from_openai_ends_the_stream_with_error(chat, fake_openai):
    fake_openai.fail_next("stream_error")
    events = call(chat, "POST", CHAT, {"message": "one two three", "stream": True}).events()
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["code"] == "upstream_stream_interrupted"
    assert "done" not in [event["type"] for event in events]


def test_a_stall_past_the_timeout_ends_with_upstream_timeout(chat, fake_openai, env):
    env.setenv("OPENAI_TIMEOUT_SECONDS", "1")
    fake_openai.fail_next("hang")
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (504, "upstream_timeout")


@pytest.mark.parametrize("fault, status, code", [
    ("rate_limit", 429, "upstream_rate_limited"),
    ("quota", 503, "upstream_quota"),
    ("401", 502, "upstream_auth"),
    ("model_not_found", 502, "upstream_model_unavailable"),
])
def test_a_failure_before_the_first_byte_is_a_plain_json_error(chat, fake_openai, fault, status, code):
    fake_openai.fail_next(fault, fault)
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (status, code)
    assert reply.headers["content-type"] == "application/json"


def test_server_errors_on_both_tries_are_502(chat, fake_openai):
    fake_openai.fail_next("503", "500")
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_error")
    assert len(fake_openai.requests) == 2


def test_a_client_that_hangs_up_stops_the_upstream_stream(chat, fake_openai):
    fake_openai.gate = threading.Event()
    connection, response = open_stream(chat, CHAT, {"message": " ".join(["mot"] * 2000), "stream": True})
    read_event(response)
    response.close()
    connection.close()
    fake_openai.gate.set()
    assert fake_openai.stream_aborted.wait(10), "the upstream stream went on after the caller left"
    fake_openai.gate = None
    assert call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()[-1]["type"] == "done"


def test_malformed_json_from_openai_is_502(chat, fake_openai):
    fake_openai.fail_next("malformed", "malformed")
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert (reply.status, reply.error_code) == (502, "upstream_bad_response")


def sse_response(*pieces: bytes) -> httpx.Response:
    """A stream whose body arrives in exactly these reads."""
    return httpx.Response(200, content=iter(pieces), headers={"content-type": "text/event-stream"})


def test_the_stream_carries_the_servers_key_and_the_conversation(chat, openai_mock):
    route = openai_mock.post("/chat/completions").mock(return_value=stream("Bon", "jour"))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert [event.get("text") for event in events[:-1]] == ["Bon", "jour"]
    assert events[-1]["usage"] == {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream"] is True and sent["messages"][-1] == {"role": "user", "content": "hi"}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {CANARY_KEY}"


def test_lines_split_across_reads_are_joined_before_they_are_read(chat, openai_mock):
    whole = stream("Déjà ", "vu").content.replace(b"\n", b"\r\n")  # CRLF line ends are lines too
    cut = whole.index("é".encode()) + 1  # inside a UTF-8 character
    pieces = [whole[:7], whole[7:cut], whole[cut:-3], whole[-3:]]
    openai_mock.post("/chat/completions").mock(return_value=sse_response(*pieces))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Déjà vu"


def test_a_compressed_stream_is_read_like_a_plain_one(chat, openai_mock):
    compressed = gzip.compress(stream("Bon", "jour").content)
    openai_mock.post("/chat/completions").mock(return_value=httpx.Response(
        200, content=compressed, headers={"content-type": "text/event-stream", "content-encoding": "gzip"}))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert events[-1]["type"] == "done" and events[-1]["message"] == "Bonjour"


def test_a_stream_whose_compression_is_broken_ends_with_a_bad_response_error(chat, openai_mock):
    compressed = gzip.compress(stream("Bon", "jour").content)
    broken = compressed[:20] + bytes(b ^ 0xFF for b in compressed[20:40]) + compressed[40:]
    openai_mock.post("/chat/completions").mock(return_value=httpx.Response(
        200, content=iter([broken]), headers={"content-type": "text/event-stream", "content-encoding": "gzip"}))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "upstream_bad_response"


def test_a_stream_in_an_encoding_not_asked_for_is_502_bad_response(chat, openai_mock):
    openai_mock.post("/chat/completions").mock(return_value=httpx.Response(
        200, content=b"\x1b\x00", headers={"content-type": "text/event-stream", "content-encoding": "br"}))
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_bad_response")


def test_a_compressed_error_answer_keeps_its_meaning(chat, openai_mock):
    answer = error(429, "insufficient_quota", "insufficient_quota")
    openai_mock.post("/chat/completions").mock(return_value=httpx.Response(
        429, content=gzip.compress(answer.content), headers={"content-type": "application/json",
                                                             "content-encoding": "gzip"}))
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (503, "upstream_quota")


def test_a_stream_that_ends_without_done_or_finish_ends_with_error(chat, openai_mock):
    first = stream("Bon").content.split(b"\n\n")[0] + b"\n\n"
    openai_mock.post("/chat/completions").mock(return_value=sse_response(first))
    events = call(chat, "POST", CHAT, {"message": "hi", "stream": True}).events()
    assert [event["type"] for event in events] == ["delta", "error"]
    assert events[-1]["error"]["code"] == "upstream_stream_interrupted"


def test_openais_request_id_is_logged_for_a_stream_and_kept_on_its_errors(openai_mock):
    route = openai_mock.post("/chat/completions")
    route.side_effect = [stream("ok", request_id="req_ok"),
                         error(429, "insufficient_quota", headers={"x-request-id": "req_quota"})]
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    fields = log.start_request()
    openai_stream.open_chat(settings.openai(), body).close()
    assert fields["upstreamRequestId"] == "req_ok"
    with pytest.raises(UpstreamQuota) as caught:
        openai_stream.open_chat(settings.openai(), body)
    assert caught.value.upstream_request_id == "req_quota"
