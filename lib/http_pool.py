"""One POST over stdlib http.client with kept-alive connections: every call to OpenAI goes this way."""

from __future__ import annotations

import functools
import http.client
import select
import socket
import threading
import time
from collections import deque
from typing import Callable, Iterator
from urllib.parse import urlsplit

MAX_IDLE = 20  # kept-alive connections in all, as httpx's default pool keeps
IDLE_EXPIRY_SECONDS = 5.0  # as httpx's keepalive_expiry: servers drop idle connections, often without a word
MAX_CONNECT_SECONDS = 5.0
WATCH_SECONDS = 0.25  # how often an exchange with a deadline checks it
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

_idle: deque = deque()  # (origin, connection, idle since), oldest first
_lock = threading.Lock()


class Exchange:
    """An answer whose body is read as it arrives; close() gives its connection back once the body is whole."""

    def __init__(self, connection: http.client.HTTPConnection, answer: http.client.HTTPResponse, origin: tuple,
                 watch: "_Watch | None" = None, sock=None):
        self._connection, self._answer, self._origin, self._watch = connection, answer, origin, watch
        self._sock = sock  # the connection's: http.client lets go of it when the answer ends the connection
        self.status_code = answer.status
        self.headers = answer.headers  # an email.message.Message: get() ignores case

    def blocks(self, tick: float | None = None) -> Iterator[bytes]:
        """The body (chunked transfer decoded, content encoding kept) in the pieces it arrives in. With `tick`, no
        read ever waits for more than has come, and b"" comes each time nothing has for that long (or only framing
        did): the reader acts on its own thread between pieces (a thread per reply cost more than relaying it)."""
        answer = self._answer
        if tick is None:
            while block := answer.read1(65536):
                yield block
            return
        if not answer.chunked and answer.length is not None:  # a stream with a length: http.client counts it
            while True:
                if not self._arriving(tick, buffered=True):
                    yield b""
                elif block := answer.read1(65536):
                    yield block
                else:
                    return
        # Chunked or to the connection's end: the socket is read itself once what came with the headers is taken
        # (http.client's chunked read waits for a whole frame, and a TLS read for a whole record).
        unchunked = _Unchunked() if answer.chunked else None
        data = self._buffered()
        while True:
            if data is None:
                if not self._arriving(tick, buffered=False):
                    yield b""
                    continue
                data = self._received()
                if data is None:
                    yield b""  # part of a TLS record, or one without data
                    continue
            if unchunked is None:
                if not data:
                    return
                yield data
                data = None
                continue
            if not data:
                raise http.client.IncompleteRead(b"")
            block, data = unchunked.feed(data), None
            if unchunked.done:
                if not unchunked.extra:
                    answer.close()  # read whole: the connection can carry another request
                if block:
                    yield block
                return
            yield block  # b"" when only framing came: the reader's turn all the same

    def _buffered(self) -> bytes | None:
        """What came with the headers (or is there now) through the answer's buffer, without waiting; None if
        nothing. It empties the buffer (read1 of more than it holds)."""
        file, sock = self._answer.fp, self._sock
        if file is None or sock is None:
            return b""
        timeout = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            return file.read1(65536) or None  # b"": nothing yet (a plain socket's), or the end, which recv says again
        except (BlockingIOError, *_tls_not_yet()):
            return None
        finally:
            sock.settimeout(timeout)

    def _received(self) -> bytes | None:
        """What the socket has (b"" at its end), without waiting; None if nothing yet (part of a TLS record)."""
        sock = self._sock
        if not hasattr(sock, "pending"):
            return sock.recv(65536)  # poll() said readable: a plain socket's recv does not wait
        timeout = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            return sock.recv(65536)
        except (BlockingIOError, *_tls_not_yet()):
            return None
        finally:
            sock.settimeout(timeout)

    def _arriving(self, tick: float, buffered: bool) -> bool:
        """Something to read (in the answer's buffer if it may hold some, in TLS's, or on the socket within `tick`
        seconds), or the answer is over."""
        sock, file = self._sock, self._answer.fp
        if sock is None or file is None or sock.fileno() < 0:
            return True  # a read says so at once
        if buffered:
            timeout = sock.gettimeout()
            sock.settimeout(0.0)  # a peek that reads nothing rather than waits
            try:
                if file.peek(1):
                    return True
            except (BlockingIOError, *_tls_not_yet()):
                pass
            finally:
                sock.settimeout(timeout)
        if getattr(sock, "pending", None) and sock.pending():
            return True
        poller = select.poll()  # not select(): it fails on descriptors past 1023
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(tick * 1000))

    def read(self, limit: int | None = None) -> bytes:
        """The body, or its first `limit` bytes (the rest is left unread: close() then drops the connection);
        TimeoutError if the exchange's deadline (post(whole=True)) cut it."""
        try:
            content = self._answer.read(limit)
        except BaseException:
            self._raise_if_late()
            raise
        self._raise_if_late()
        return content

    def _raise_if_late(self) -> None:
        if self._watch is not None and self._watch.late.is_set():
            self.close()
            raise TimeoutError("the answer did not come whole in time") from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return  # closed already: the connection may be serving another request by now
        late = self._watch is not None and self._watch.stop()
        if self._answer.isclosed() and not self._answer.will_close and not late:
            _keep(self._origin, connection)
        else:  # unread body left: the connection cannot carry another request
            self._answer.close()  # its file holds the socket open: OpenAI would go on sending into it
            connection.close()


class _Unchunked:
    """HTTP/1.1's chunked transfer coding undone as the bytes arrive, whatever their cut."""

    def __init__(self):
        self.pending, self.left, self.skip, self.trailer, self.done, self.extra = b"", 0, 0, False, False, False

    def feed(self, data: bytes) -> bytes:
        if self.pending:
            data, self.pending = self.pending + data, b""
        out, at, size = [], 0, len(data)
        while at < size and not self.done:
            if self.left:  # a chunk's data, then its CRLF
                piece = data[at:at + self.left]
                out.append(piece)
                at += len(piece)
                self.left -= len(piece)
                self.skip = 0 if self.left else 2
                continue
            if self.skip:
                taken = min(self.skip, size - at)
                at, self.skip = at + taken, self.skip - taken
                continue
            end = data.find(b"\n", at)
            if end < 0:
                self.pending = data[at:]
                if len(self.pending) > 65536:
                    raise http.client.LineTooLong("chunk size")
                break
            line, at = data[at:end], end + 1
            if self.trailer:
                self.done = not line.strip()  # the empty line that ends the trailer
                continue
            try:
                self.left = int(line.split(b";", 1)[0], 16)  # int() allows the spaces and CR around it
            except ValueError:
                self.left = -1
            if self.left < 0:
                raise http.client.IncompleteRead(b"")
            self.trailer = not self.left
        self.extra = self.done and at < size  # bytes after the body: the connection is not to be trusted again
        return b"".join(out)


def post(url: str, headers: dict[str, str], content: bytes, *, timeout: float, ca_file: str | None = None,
         proxy: str | None = None, expired: Callable[[], bool] | None = None, whole: bool = False) -> Exchange:
    """POST `content` and return the answer as soon as its headers are in; OSError/HTTPException on failure.

    Through `proxy` (http://[user:password@]host:port) if given: a CONNECT tunnel for https, the whole URL for
    http. A kept connection the server closes before answering (as servers end idle ones) is replaced at once.
    Each read waits up to `timeout`. Once `expired()` (checked every WATCH_SECONDS) is true the exchange is cut,
    however slowly the answer still trickles in: its headers (and with `whole`, its body, until close()) then
    raise TimeoutError.
    """
    (scheme, host, port), path = _split(url)
    origin = (scheme, host, port, proxy)
    if proxy and scheme == "http":
        path, headers = url, {**headers, **_proxy_auth(proxy)}
    connection = _take(origin)
    if connection is not None:
        try:
            return _exchange(connection, origin, path, headers, content, expired, whole)
        except STALE:
            connection.close()
    return _exchange(_connect(origin, timeout, ca_file), origin, path, headers, content, expired, whole)


def close_idle() -> None:
    """Close every kept-alive connection."""
    with _lock:
        idle = list(_idle)
        _idle.clear()
    for _, connection, _ in idle:
        connection.close()


def _exchange(connection, origin: tuple, path: str, headers: dict[str, str], content: bytes,
              expired: Callable[[], bool] | None = None, whole: bool = False) -> Exchange:
    watch = _Watch(connection, expired) if expired is not None else None
    try:
        connection.request("POST", path, body=content, headers=headers)
        sock = connection.sock  # getresponse() lets go of it when the answer will end the connection
        answer = connection.getresponse()
        whole = whole or not 200 <= answer.status < 300  # an error's body is read whole: by the deadline too
        exchange = Exchange(connection, answer, origin, watch if whole else None, sock)
    except BaseException:
        connection.close()
        if watch is not None and watch.stop():
            raise TimeoutError("the answer's headers did not come in time") from None
        raise
    if watch is not None and not whole and watch.stop():
        exchange.close()
        raise TimeoutError("the answer's headers did not come in time")
    return exchange


class _Watch:
    """Cuts a connection (a blocked read returns) once `expired()` is true, until stopped. One thread checks every
    exchange's every WATCH_SECONDS: a thread started per request cost more than the request (bench/relays.py)."""

    def __init__(self, connection, expired: Callable[[], bool]):
        self.late = threading.Event()
        self._sock, self._expired = connection.sock, expired  # kept: getresponse() may let go of it
        if expired():
            self.late.set()
            self._cut()
        else:
            _watch(self)

    def _cut(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> bool:
        """Stop watching; True if the connection was cut (it is never cut once this has returned False)."""
        with _watch_lock:
            _watches.discard(self)
            return self.late.is_set()


_watches: set = set()
_watch_lock = threading.Lock()
_watcher: list = []  # the watching thread, while there is one


def _watch(watch: _Watch) -> None:
    with _watch_lock:
        _watches.add(watch)
        if not _watcher:
            thread = threading.Thread(target=_watch_all, daemon=True, name="upstream-deadlines")
            thread.start()
            _watcher.append(thread)


def _watch_all() -> None:
    """Every WATCH_SECONDS, cut the exchanges whose deadline has passed; gone once none is left."""
    try:
        while True:
            time.sleep(WATCH_SECONDS)
            with _watch_lock:
                if not _watches:
                    _watcher.clear()  # under the lock: a watch added from now on starts another watcher
                    return
                late = [watch for watch in _watches if _is_late(watch)]
                for watch in late:  # marked under the lock: stop() then says it was cut
                    _watches.discard(watch)
                    watch.late.set()
            for watch in late:
                watch._cut()
    except BaseException:
        with _watch_lock:
            _watcher.clear()
        raise


def _is_late(watch: _Watch) -> bool:
    try:
        return watch._expired()
    except Exception:  # noqa: BLE001 - a deadline that cannot be read is treated as passed
        return True


@functools.lru_cache(maxsize=1)
def _tls_not_yet() -> tuple[type, ...]:
    """TLS's "nothing to read yet" (http.client has loaded ssl already)."""
    import ssl

    return ssl.SSLWantReadError, ssl.SSLWantWriteError


@functools.lru_cache(maxsize=16)
def _split(url: str) -> tuple[tuple[str, str, int], str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise http.client.InvalidURL(f"not an http(s) URL: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.hostname, port), (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _connect(origin: tuple, timeout: float, ca_file: str | None) -> http.client.HTTPConnection:
    """A new connection, connected within min(5 s, timeout); each read then waits up to `timeout`."""
    scheme, host, port, proxy = origin
    connect_timeout = min(MAX_CONNECT_SECONDS, timeout)
    to = (urlsplit(proxy).hostname, urlsplit(proxy).port or 80) if proxy else (host, port)
    if scheme == "https":
        connection = http.client.HTTPSConnection(*to, timeout=connect_timeout, context=_tls_context(ca_file))
        if proxy:
            connection.set_tunnel(host, port, headers=_proxy_auth(proxy))
    else:
        connection = http.client.HTTPConnection(*to, timeout=connect_timeout)
    try:
        connection.connect()
    except BaseException:
        connection.close()
        raise
    connection.sock.settimeout(timeout)
    return connection


@functools.lru_cache(maxsize=4)
def _proxy_auth(proxy: str) -> dict[str, str]:
    """Proxy-Authorization (Basic) for a proxy URL with user:password@, else nothing."""
    import base64
    from urllib.parse import unquote

    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str | None):
    """Certificates verified as httpx verifies them: against SSL_CERT_FILE if set, else certifi's bundle."""
    import ssl

    if not ca_file:
        import certifi

        ca_file = certifi.where()
    return ssl.create_default_context(cafile=ca_file)


def _take(origin: tuple):
    """The most recently kept connection to `origin` still fit for a request, or None."""
    now = time.monotonic()
    dropped, found = [], None
    with _lock:
        while _idle and now - _idle[0][2] > IDLE_EXPIRY_SECONDS:
            dropped.append(_idle.popleft()[1])
        for index in range(len(_idle) - 1, -1, -1):
            if _idle[index][0] == origin:
                found = _idle[index][1]
                del _idle[index]
                break
    for connection in dropped:
        connection.close()
    if found is not None and _closed_by_server(found):
        found.close()
        return None
    return found


def _closed_by_server(connection) -> bool:
    """An idle connection with something to read has been closed (or broken) by the server."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _keep(origin: tuple, connection) -> None:
    with _lock:
        _idle.append((origin, connection, time.monotonic()))
        oldest = _idle.popleft()[1] if len(_idle) > MAX_IDLE else None
    if oldest is not None:
        oldest.close()
