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
                 watch: "_Watch | None" = None):
        self._connection, self._answer, self._origin, self._watch = connection, answer, origin, watch
        self.status_code = answer.status
        self.headers = answer.headers  # an email.message.Message: get() ignores case

    def blocks(self) -> Iterator[bytes]:
        """The body (chunked transfer decoded, content encoding kept) in the pieces it arrives in."""
        read = self._answer.read1
        while block := read(65536):
            yield block

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

    def abort(self) -> None:
        """Make a read blocked on this answer (on another thread) return at once: the connection is not kept."""
        connection = self._connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: a TLS one's would unwrap it
            except OSError:
                pass

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
        answer = connection.getresponse()
        whole = whole or not 200 <= answer.status < 300  # an error's body is read whole: by the deadline too
        exchange = Exchange(connection, answer, origin, watch if whole else None)
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
    """Cuts a connection (a blocked read returns) once `expired()` is true, until stopped."""

    def __init__(self, connection, expired: Callable[[], bool]):
        self.late, self._stopped = threading.Event(), threading.Event()
        self._connection, self._expired = connection, expired
        if expired():
            self._cut()
        else:
            threading.Thread(target=self._run, daemon=True, name="upstream-deadline").start()

    def _run(self) -> None:
        while not self._stopped.wait(WATCH_SECONDS):
            if self._expired():
                self._cut()
                return

    def _cut(self) -> None:
        self.late.set()
        sock = self._connection.sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> bool:
        """Stop watching; True if the connection was cut."""
        self._stopped.set()
        return self.late.is_set()


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
