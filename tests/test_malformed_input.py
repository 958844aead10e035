"""A hostile client's bodies and headers: each gets its 4xx with a JSON error, is counted against no limit,
never reaches OpenAI, and leaves no traceback or error line anywhere."""

import json
import logging
import socket
from types import SimpleNamespace

import pytest

from tests.helpers import call, freeze_limit_clock
from tests.openai_responses import client_secret, completion

CHAT = "/api/groupchat/chat"
KEY = "/api/realtime/key"
DEEP = "[" * 3000 + "]" * 3000
HUGE = "9" * 5000


@pytest.fixture
def openai_mock(openai_mock):
    openai_mock.post("/chat/completions").mock(return_value=completion())
    openai_mock.post("/realtime/client_secrets").mock(return_value=client_secret())
    return openai_mock


@pytest.fixture
def limited(env):
    """One chat message a day and one voice key a minute, on a clock that stands still."""
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "1")
    env.setenv("REALTIME_KEY_RATE_LIMIT_PER_MINUTE", "1")
    freeze_limit_clock(env)


@pytest.fixture
def untouched(limited, openai_mock, chat, key, capfd, log_records):
    """After the test's bad requests: nothing reached OpenAI, nothing was counted (one good request per route
    still passes, the next is refused), and no traceback or error was printed or logged."""
    yield
    assert not openai_mock.calls
    good = [(chat, CHAT, {"message": "hi"}), (key, KEY, {})] * 2
    assert [call(port, "POST", path, body).status for port, path, body in good] == [200, 200, 429, 429]
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert [record.getMessage() for record in log_records if record.levelno >= logging.WARNING] == []


@pytest.fixture(params=[(CHAT, "message"), (KEY, "voice")], ids=["chat", "key"])
def route(request, chat, key):
    """Each POST route, with the field a hostile value goes into."""
    path, field = request.param
    return SimpleNamespace(port=chat if path == CHAT else key, path=path, field=field)


def post_raw(route, raw: bytes, headers: dict | None = None):
    return call(route.port, "POST", route.path, raw=raw, headers=headers)


def exchange(port: int, request: bytes, half_close: bool = True) -> tuple[int, dict]:
    """Send raw bytes (then say no more is coming, unless half_close is False); the status and JSON body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n".encode()


def chunked(body: bytes, size: int = 7) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\nTrailer: x\r\n\r\n"


@pytest.mark.parametrize("text, message", [
    ("{{\"{field}\": " + DEEP + "}}", "nested too deeply"),
    ("{{\"{field}\": " + "[" * 33 + "]" * 33 + "}}", "nested too deeply"),
    ("{{\"{field}\": " + '{{"a": ' * 40 + "1" + "}}" * 40 + "}}", "nested too deeply"),
    ("{{\"{field}\": " + HUGE + "}}", "over 4300 digits"),
    ("{{\"{field}\": NaN}}", "NaN"),
    ("{{\"{field}\": -Infinity}}", "Infinity"),
], ids=["nested-3000-deep", "nested-34-deep", "objects-41-deep", "5000-digit-integer", "NaN", "Infinity"])
def test_json_this_server_cannot_take_is_400_invalid_json(route, untouched, text, message):
    reply = post_raw(route, text.format(field=route.field).encode())
    assert (reply.status, reply.error_code) == (400, "invalid_json")
    assert message in reply.json()["error"]["message"]


@pytest.mark.parametrize("raw", [
    b'{"FIELD": "a\\ud800b"}',           # escaped
    b'{"FIELD": "a\xed\xa0\x80b"}',      # raw (CESU-style) bytes
    b'{"FIELD": ["ok", {"x": "\\udfff"}]}',
    b'{"\\ud800": "a"}',
], ids=["escaped", "raw", "nested", "in-a-key"])
def test_a_lone_surrogate_is_422_before_anything_is_counted(route, untouched, raw):
    reply = post_raw(route, raw.replace(b"FIELD", route.field.encode()))
    assert (reply.status, reply.error_code) == (422, "validation_error")
    assert "lone surrogate" in reply.json()["error"]["message"]
    assert reply.json()["error"]["field"] in (route.field, "body")


def test_a_chunked_body_is_read_whole(chat, openai_mock):
    body = json.dumps({"message": "découpé en morceaux"}).encode()
    status, answer = exchange(chat, head(CHAT, "Transfer-Encoding: chunked\r\n")
                              + chunked(body))
    assert (status, answer["message"]) == (200, "Bonjour !")
    assert json.loads(openai_mock.calls.last.request.content)["messages"][-1]["content"] == "découpé en morceaux"


def test_a_chunked_body_reaches_the_key_route_too(key, openai_mock):
    status, answer = exchange(key, head(KEY, "Transfer-Encoding: chunked\r\n")
                              + chunked(b'{"voice": "marin"}'))
    assert (status, answer["voice"]) == (200, "marin")


@pytest.mark.parametrize("body, expected", [
    (b"zz\r\n{}\r\n0\r\n\r\n", (400, "bad_http_request")),              # not a size
    (b"10\r\n{}\r\n0\r\n\r\n", (400, "bad_http_request")),              # ends inside a chunk
    (b"2\r\n{}XX0\r\n\r\n", (400, "bad_http_request")),                 # no CRLF after the data
    (b"ffff\r\n" + b" " * 0xffff + b"\r\n" + b"2\r\n{}\r\n0\r\n\r\n", (413, "payload_too_large")),
], ids=["bad-size", "cut-short", "no-crlf", "over-64-kib"])
def test_a_broken_chunked_body_is_a_4xx(route, untouched, body, expected):
    status, answer = exchange(route.port, head(route.path, "Transfer-Encoding: chunked\r\n") + body)
    assert (status, answer["error"]["code"]) == expected


def test_a_body_shorter_than_its_content_length_is_400(route, untouched):
    status, answer = exchange(route.port, head(route.path, "Content-Length: 100\r\n") + b'{"x": 1}')
    assert (status, answer["error"]["code"]) == (400, "bad_http_request")
    assert "ended after 8 of its 100 bytes" in answer["error"]["message"]


def test_a_body_that_stops_coming_is_408_and_frees_the_worker(route, untouched, env):
    env.setattr("lib.httpkit.BODY_TIMEOUT_SECONDS", 0.2)  # the connection stays open: only the timeout ends it
    status, answer = exchange(route.port, head(route.path, "Content-Length: 100\r\n") + b'{"x": 1}', half_close=False)
    assert (status, answer["error"]["code"]) == (408, "request_timeout")


def test_a_stream_null_means_absent(chat, openai_mock):
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": None})
    assert (reply.status, reply.json()["message"]) == (200, "Bonjour !")
    assert "stream" not in json.loads(openai_mock.calls.last.request.content)


def test_a_clients_x_vercel_id_is_not_trusted_outside_vercel(route, openai_mock, log_records):
    reply = call(route.port, "POST", route.path, {"message": "hi"} if route.path == CHAT else {},
                 {"x-vercel-id": "forged-id-1"})
    assert reply.status == 200 and reply.headers["x-request-id"] != "forged-id-1"
    assert [record.fields["requestId"] for record in log_records] == [reply.headers["x-request-id"]]


def test_on_vercel_its_x_vercel_id_is_the_request_id(route, openai_mock, env, log_records):
    env.setenv("VERCEL", "1")
    env.setenv("ALLOW_ANONYMOUS_ON_VERCEL", "1")  # these callers are anonymous: accepted on purpose here
    reply = call(route.port, "POST", route.path, {"message": "hi"} if route.path == CHAT else {},
                 {"x-vercel-id": "cdg1::iad1::abcde-1700000000000-0a1b2c"})
    assert reply.headers["x-request-id"] == "cdg1::iad1::abcde-1700000000000-0a1b2c"
    assert [record.fields["requestId"] for record in log_records] == ["cdg1::iad1::abcde-1700000000000-0a1b2c"]


def test_on_vercel_a_malformed_x_vercel_id_is_replaced(chat, openai_mock, env):
    env.setenv("VERCEL", "1")
    env.setenv("ALLOW_ANONYMOUS_ON_VERCEL", "1")  # these callers are anonymous: accepted on purpose here
    reply = call(chat, "POST", CHAT, {"message": "hi"}, {"x-vercel-id": "<script>" * 30})
    assert reply.status == 200 and len(reply.headers["x-request-id"]) == 32


def supabase_user(backend, env) -> dict:
    """A Supabase user's Authorization header (every store takes it)."""
    import time

    import jwt

    secret = "jwt-secret-for-tests-0123456789abcdef0123"
    env.setenv("SUPABASE_JWT_SECRET", secret)
    claims = {"sub": backend.new_user(), "aud": "authenticated", "exp": int(time.time()) + 600}
    if backend.issuer:
        claims["iss"] = backend.issuer
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


def test_a_nul_is_422_naming_its_field_before_anything_is_paid_for(backend, env, chat, fake_openai):
    user = supabase_user(backend, env)
    conversation = call(chat, "POST", CHAT, {"message": "bonjour"}, user).json()["conversationId"]
    paid = len(fake_openai.requests)
    for method, path, body, field in [
        ("POST", CHAT, {"message": "a\u0000b", "conversationId": conversation}, "message"),
        ("POST", CHAT, {"message": "ok", "systemPrompt": "\u0000"}, "systemPrompt"),
        ("PATCH", f"{CHAT}?conversationId={conversation}", {"title": "titre\u0000"}, "title"),
        ("GET", f"{CHAT}?q=a%00b", None, "q"),
    ]:
        reply = call(chat, method, path, body, user)
        assert (reply.status, reply.error_code, reply.json()["error"]["field"]) == (422, "validation_error", field)
    assert len(fake_openai.requests) == paid  # nothing more was sent to OpenAI
    read = call(chat, "GET", f"{CHAT}?conversationId={conversation}", headers=user).json()
    assert [m["content"] for m in read["messages"]][0] == "bonjour" and len(read["messages"]) == 2


@pytest.mark.parametrize("size", [65 * 1024, 2 * 1024 * 1024], ids=["just-over", "2-MiB"])
def test_a_body_over_the_limit_gets_the_json_413_not_a_reset(route, untouched, size):
    body = b'{"' + route.field.encode() + b'": "' + b"x" * size + b'"}'
    status, answer = exchange(route.port, head(route.path, f"Content-Length: {len(body)}\r\n") + body,
                              half_close=False)
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
