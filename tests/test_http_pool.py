"""The streamed chat's own way to OpenAI (lib/http_pool.py): kept-alive connections, dropped ones, TLS."""

import http.client

import pytest

from dev.fake_openai import FakeOpenAI
from lib import http_pool
from tests.helpers import CANARY_KEY, call, tls_files

CHAT = "/api/groupchat/chat"
BODY = b'{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
HEADERS = {"Authorization": f"Bearer {CANARY_KEY}", "Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def empty_pool():
    http_pool.close_idle()
    yield
    http_pool.close_idle()


def streamed(chat, message: str = "bonjour") -> list[dict]:
    events = call(chat, "POST", CHAT, {"message": message, "stream": True}).events()
    assert events[-1]["type"] == "done", events[-1]
    return events


def post(fake_openai) -> http_pool.Exchange:
    return http_pool.post(fake_openai.base_url + "/chat/completions", HEADERS, BODY, timeout=5)


def read_whole(exchange: http_pool.Exchange) -> bytes:
    data = b"".join(exchange.blocks())
    exchange.close()
    return data


def test_streamed_replies_one_after_another_share_one_connection(chat, fake_openai):
    for _ in range(3):
        streamed(chat)
    assert fake_openai.connections == 1
    assert len(fake_openai.requests) == 3


def test_a_stream_read_with_ticks_gives_the_same_body_and_keeps_its_connection(fake_openai):
    whole = read_whole(post(fake_openai))
    exchange = post(fake_openai)
    ticked = b"".join(exchange.blocks(tick=0.25))
    exchange.close()
    assert ticked == whole and whole.endswith(b"data: [DONE]\n\n")
    assert len(http_pool._idle) == 1  # read to its last chunk: the connection was given back


CHUNKED = b"5\r\ndata:\r\n3;name=value\r\n ok\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\nTrailer: yes\r\n\r\n"


@pytest.mark.parametrize("cut", [1, 2, 3, 7, 64])
def test_the_chunked_coding_is_undone_however_the_bytes_are_cut(cut):
    unchunked, out = http_pool._Unchunked(), b""
    for at in range(0, len(CHUNKED), cut):
        assert not unchunked.done
        out += unchunked.feed(CHUNKED[at:at + cut])
    assert (out, unchunked.done) == (b"data: ok" + b"x" * 16, True)


@pytest.mark.parametrize("size", [b"zz", b"-5", b""])
def test_a_chunk_size_that_is_not_one_is_an_incomplete_read(size):
    with pytest.raises(http.client.IncompleteRead):
        http_pool._Unchunked().feed(size + b"\r\nhello\r\n")


class HeldAnswer:
    """A server on loopback that sends an answer's head (and `partial`), then holds the rest until `go` is set (or
    20 s have passed: a reader that waited for it fails instead of hanging), then closes. `tls`: (cert, key)."""

    def __init__(self, head: bytes, partial: bytes = b"", rest: bytes = b"", tls=None):
        import socket
        import threading

        self.go, self.cut = threading.Event(), threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.head, self.partial, self.rest, self.tls = head, partial, rest, tls
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.listener.getsockname()[1]}/chat/completions"

    def _serve(self):
        connection, _ = self.listener.accept()
        with connection:
            if self.tls:
                return self._serve_tls(connection)
            connection.recv(65536)
            connection.sendall(self.head + self.partial)
            if not self.rest:  # nothing more to send: see whether the reader cuts the connection
                connection.settimeout(20)
                while connection.recv(65536):  # the rest of the request, if it came in two parts
                    pass
                self.cut.set()  # (a timeout raises instead)
                return
            self.go.wait(20)
            connection.sendall(self.rest)
            self._until_closed(connection)

    def _serve_tls(self, raw):
        """TLS by hand (memory BIOs), so one record of the body can be sent in two parts."""
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.tls)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)

        def until_done(step):
            while True:
                try:
                    return step()
                except ssl.SSLWantReadError:
                    raw.sendall(outgoing.read())
                    incoming.write(raw.recv(65536))

        until_done(tls.do_handshake)
        raw.sendall(outgoing.read())
        until_done(lambda: tls.read(65536))
        tls.write(self.head)
        raw.sendall(outgoing.read())
        tls.write(self.rest)
        record = outgoing.read()
        raw.sendall(record[:10])  # the first bytes of the body's record only
        self.go.wait(20)
        raw.sendall(record[10:])
        self._until_closed(raw)

    @staticmethod
    def _until_closed(connection):
        """Read until the reader closes (at the end of the test): closing first, with bytes of the request still
        unread, would reset the connection, and the answer's last bytes with it."""
        connection.settimeout(20)
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
DONE = b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


def first_two(exchange: http_pool.Exchange, held: HeldAnswer, tick: float) -> list[bytes]:
    """The first piece the reader gets, then (the server let go) everything else, joined."""
    blocks = exchange.blocks(tick=tick)
    first = next(blocks)
    held.go.set()
    rest = b"".join(blocks)
    exchange.close()
    return [first, rest]


def test_an_answer_that_ends_its_connection_still_gives_the_reader_its_ticks():
    held = HeldAnswer(CHUNKED_HEAD + b"Connection: close\r\n\r\n", rest=DONE)
    exchange = http_pool.post(held.url, HEADERS, BODY, timeout=20)
    assert first_two(exchange, held, tick=0.01) == [b"", b"data: [DONE]\n\n"]


def test_framing_that_trickles_in_gives_the_reader_its_turn_at_once():
    held = HeldAnswer(CHUNKED_HEAD + b"\r\n", partial=b"e;name=", rest=b"value\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
    exchange = http_pool.post(held.url, HEADERS, BODY, timeout=20)
    assert first_two(exchange, held, tick=60) == [b"", b"data: [DONE]\n\n"]  # not after a tick


def test_part_of_a_tls_record_gives_the_reader_its_ticks(certificates):
    held = HeldAnswer(CHUNKED_HEAD + b"\r\n", rest=DONE, tls=(str(certificates[1]), str(certificates[2])))
    exchange = http_pool.post(held.url, HEADERS, BODY, timeout=20, ca_file=str(certificates[0]))
    assert first_two(exchange, held, tick=0.01) == [b"", b"data: [DONE]\n\n"]
    assert len(http_pool._idle) == 1  # read whole over TLS: kept


def test_a_whole_answer_that_ends_its_connection_is_still_cut_at_its_deadline():
    import threading

    held = HeldAnswer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n", partial=b"0123456789")
    late = threading.Event()
    exchange = http_pool.post(held.url, HEADERS, BODY, timeout=60, expired=late.is_set, whole=True)
    late.set()
    with pytest.raises(TimeoutError):
        exchange.read()
    held.thread.join()
    assert held.cut.is_set()  # the watcher shut the socket: the server did not have to give up first


def test_a_connection_the_server_ended_while_idle_is_replaced_without_an_error(chat, fake_openai):
    streamed(chat)
    fake_openai.drop_connections()
    streamed(chat, "encore")
    assert fake_openai.connections == 2
    assert [request["body"]["messages"][-1]["content"] for request in fake_openai.requests] == ["bonjour", "encore"]


def test_a_kept_connection_closed_before_the_answer_is_replaced_at_once(fake_openai):
    assert b"[DONE]" in read_whole(post(fake_openai))
    fake_openai.fail_next("drop")  # the request reaches the kept connection, which closes without an answer
    exchange = post(fake_openai)
    assert exchange.status_code == 200 and b"[DONE]" in read_whole(exchange)
    assert fake_openai.connections == 2 and len(fake_openai.requests) == 3


def test_a_new_connection_closed_before_the_answer_is_an_error_not_a_retry(fake_openai):
    fake_openai.fail_next("drop")
    with pytest.raises(http.client.RemoteDisconnected):
        post(fake_openai)
    assert fake_openai.connections == 1 and len(fake_openai.requests) == 1


def test_the_connection_of_a_stream_cut_short_is_not_kept(chat, fake_openai):
    fake_openai.fail_next("cut")
    events = call(chat, "POST", CHAT, {"message": "un deux trois quatre", "stream": True}).events()
    assert events[-1]["error"]["code"] == "upstream_stream_interrupted"
    streamed(chat)
    assert fake_openai.connections == 2


def test_closing_an_answer_twice_keeps_its_connection_once(fake_openai):
    exchange = post(fake_openai)
    read_whole(exchange)
    exchange.close()
    first, second = post(fake_openai), post(fake_openai)  # one kept connection, one new: never the same one twice
    assert b"[DONE]" in read_whole(first) and b"[DONE]" in read_whole(second)
    assert fake_openai.connections == 2


def test_an_answer_left_unread_does_not_keep_its_connection(fake_openai):
    post(fake_openai).close()
    read_whole(post(fake_openai))
    assert fake_openai.connections == 2


def test_connections_idle_too_long_are_not_reused(fake_openai, monkeypatch):
    monkeypatch.setattr(http_pool, "IDLE_EXPIRY_SECONDS", -1)  # every kept connection is already too old
    read_whole(post(fake_openai))
    read_whole(post(fake_openai))
    assert fake_openai.connections == 2


def test_at_most_max_idle_connections_are_kept(fake_openai, monkeypatch):
    monkeypatch.setattr(http_pool, "MAX_IDLE", 2)
    for exchange in [post(fake_openai) for _ in range(3)]:  # three at once: three connections
        read_whole(exchange)
    for exchange in [post(fake_openai) for _ in range(3)]:  # two kept ones, one new
        read_whole(exchange)
    assert fake_openai.connections == 4


def test_an_error_answer_read_whole_keeps_its_connection(chat, fake_openai):
    fake_openai.fail_next("rate_limit")
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (429, "upstream_rate_limited")
    streamed(chat)
    assert fake_openai.connections == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:9/v1", "http://:80/v1"])
def test_a_base_url_that_is_not_http_is_unreachable(chat, env, url):
    env.setenv("OPENAI_BASE_URL", url)
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_openai(env, certificates):
    """The stand-in over https, with a certificate from a test CA nobody trusts by default."""
    server = FakeOpenAI(chunk_delay=0.001, tls=(str(certificates[1]), str(certificates[2]))).start()
    env.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.shutdown()
    server.server_close()
    http_pool.close_idle()


def test_the_stream_speaks_tls_to_a_server_trusted_through_ssl_cert_file(chat, env, tls_openai, certificates):
    env.setenv("SSL_CERT_FILE", str(certificates[0]))
    assert tls_openai.base_url.startswith("https://")
    events = streamed(chat)
    assert events[-1]["message"] == "Echo: bonjour"
    streamed(chat)
    assert tls_openai.connections == 1  # the TLS connection is kept alive too


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_server_whose_certificate_is_not_trusted_is_unreachable(chat, tls_openai, stream):
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": stream})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")
    assert tls_openai.requests == []


@pytest.fixture(scope="module")
def proxy():
    from tests.standins.proxy import TinyProxy

    server = TinyProxy().wait_ready()
    yield server
    server.stop()


def dead_end() -> str:
    """A proxy URL where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_https_goes_through_the_proxy_in_https_proxy(chat, env, tls_openai, certificates, proxy):
    env.setenv("SSL_CERT_FILE", str(certificates[0]))
    env.setenv("HTTPS_PROXY", proxy.url)
    assert streamed(chat)[-1]["message"] == "Echo: bonjour"
    env.setenv("HTTPS_PROXY", dead_end())  # the same request with the proxy gone: so it did go through it
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")


def test_http_goes_through_the_proxy_in_lower_case_http_proxy(chat, env, fake_openai, proxy):
    env.setenv("http_proxy", proxy.url)
    assert streamed(chat)[-1]["message"] == "Echo: bonjour"
    assert fake_openai.requests[-1]["headers"]["authorization"] == f"Bearer {CANARY_KEY}"
    env.setenv("http_proxy", dead_end())
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.1"])
def test_no_proxy_sends_its_hosts_direct(chat, env, fake_openai, no_proxy):
    env.setenv("ALL_PROXY", dead_end())
    env.setenv("NO_PROXY", no_proxy)
    assert streamed(chat)[-1]["message"] == "Echo: bonjour"


@pytest.fixture
def guarded_proxy():
    from tests.standins.proxy import TinyProxy

    server = TinyProxy(user="desk", password="s3cret").wait_ready()
    yield server
    server.stop()


def test_a_proxy_asking_for_a_password_gets_the_one_in_its_url(chat, env, tls_openai, certificates, guarded_proxy):
    env.setenv("SSL_CERT_FILE", str(certificates[0]))
    env.setenv("HTTPS_PROXY", guarded_proxy.url.replace("http://", "http://desk:wrong@"))
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")
    assert "wrong" not in reply.text
    env.setenv("HTTPS_PROXY", guarded_proxy.url.replace("http://", "http://desk:s3cret@"))
    assert streamed(chat)[-1]["message"] == "Echo: bonjour"


def test_a_plain_http_request_through_a_proxy_carries_its_password(chat, env, fake_openai, guarded_proxy):
    env.setenv("HTTP_PROXY", guarded_proxy.url.replace("http://", "http://desk:s3cret@"))
    assert streamed(chat)[-1]["message"] == "Echo: bonjour"
    assert "proxy-authorization" not in fake_openai.requests[-1]["headers"]  # the proxy's, not OpenAI's


@pytest.mark.parametrize("value", ["socks5://127.0.0.1:1080", "https://proxy.example:3128"])
def test_a_proxy_the_stream_cannot_speak_to_is_a_named_misconfiguration(chat, env, value):
    env.setenv("HTTPS_PROXY", value)
    reply = call(chat, "POST", CHAT, {"message": "hi", "stream": True})
    assert (reply.status, reply.error_code) == (500, "misconfigured")
    assert reply.json()["error"]["setting"] == "HTTPS_PROXY"
    assert value not in reply.text


# --- every path to OpenAI through the same egress: the whole reply, the realtime key, the call relay ----------

OFFER = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
         "c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n")


@pytest.fixture
def paths(chat, key, call_server, env, tmp_path):
    """Each path to OpenAI besides the stream, as (name, a request to it)."""
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    return {
        "whole reply": lambda: call(chat, "POST", CHAT, {"message": "hi"}),
        "realtime key": lambda: call(key, "POST", "/api/realtime/key", {}),
        "call relay": lambda: call(call_server.port, "POST", "/api/realtime/call", raw=OFFER.encode(),
                                   headers={"Content-Type": "application/sdp"}),
    }


@pytest.fixture(scope="module")
def call_server():
    from tests.conftest import hosted

    yield from hosted("realtime/call.py")


OPENAI_PATHS = {"whole reply": "/v1/chat/completions", "realtime key": "/v1/realtime/client_secrets",
                "call relay": "/v1/realtime/calls"}


@pytest.mark.parametrize("name", list(OPENAI_PATHS))
def test_every_path_goes_through_the_proxy_in_http_proxy(paths, env, fake_openai, proxy, name):
    env.setenv("HTTP_PROXY", proxy.url)
    paths[name]()
    assert [r["path"] for r in fake_openai.requests] == [OPENAI_PATHS[name]]  # it reached OpenAI, through the proxy
    env.setenv("HTTP_PROXY", dead_end())  # the same request with the proxy gone: so it did go through it
    reply = paths[name]()
    assert (reply.status, reply.error_code) == (502, "upstream_unreachable")
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("name", list(OPENAI_PATHS))
def test_a_proxy_refusing_the_credentials_stops_every_path(paths, env, fake_openai, guarded_proxy, name):
    env.setenv("ALL_PROXY", guarded_proxy.url.replace("http://", "http://desk:wrong@"))
    reply = paths[name]()
    assert reply.status == 502 and reply.error_code.startswith("upstream_")  # the proxy's refusal, as OpenAI's
    assert fake_openai.requests == []  # nothing went around the proxy
    env.setenv("ALL_PROXY", guarded_proxy.url.replace("http://", "http://desk:s3cret@"))
    paths[name]()
    assert [r["path"] for r in fake_openai.requests] == [OPENAI_PATHS[name]]
    assert "proxy-authorization" not in fake_openai.requests[-1]["headers"]


@pytest.mark.parametrize("name", list(OPENAI_PATHS))
def test_no_proxy_sends_every_path_direct(paths, env, fake_openai, name):
    env.setenv("ALL_PROXY", dead_end())
    env.setenv("NO_PROXY", "127.0.0.1")
    paths[name]()
    assert [r["path"] for r in fake_openai.requests] == [OPENAI_PATHS[name]]
