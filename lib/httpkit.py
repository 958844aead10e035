"""The base of every function's `handler`: request parsing, JSON and SSE responses, errors in one place."""

from __future__ import annotations

import json
import re
import select
import socket
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import orjson

from lib import deadline, log, settings
from lib.access import CORS_ALLOW_HEADERS, Caller, authenticate, cors_headers
from lib.errors import (
    ApiError, BadHttpRequest, InvalidJson, MethodNotAllowed, PayloadTooLarge, RequestTimeout, ValidationFailed,
)

MAX_BODY_BYTES = 64 * 1024
MAX_DISCARD_BYTES = 4 * 1024 * 1024  # a body over the limit is read and dropped up to this, so the 413 is seen
MAX_JSON_DEPTH = 32  # no request nests deeper than 2; Python's own limit depends on its version
BODY_TIMEOUT_SECONDS = 10.0  # from the end of the headers to the end of the body
_VERCEL_ID = re.compile(r"[A-Za-z0-9:_.-]{1,128}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")


@dataclass
class Request:
    """What a route needs of an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: object  # http.client.HTTPMessage: case-insensitive .get()
    read_body: Callable[[], bytes]
    request_id: str
    caller: Caller | None
    client_ip: str

    def json(self, optional: bool = False) -> dict:
        """The body as a JSON object (no body at all is {} when optional): 413 over 64 KiB, 400 if not JSON,
        422 for a string that is not valid Unicode (a lone surrogate): all before anything is counted."""
        raw = self.read_body()
        if optional and not raw:
            return {}
        try:
            data = json.loads(raw, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidJson("The request body is not valid JSON.") from None
        except RecursionError:
            raise InvalidJson("The request body is nested too deeply.") from None
        except ValueError:  # an integer of over 4300 digits, NaN, Infinity
            raise InvalidJson("The request body holds a number this server does not accept "
                              "(NaN, Infinity or over 4300 digits).") from None
        if not isinstance(data, dict):
            raise InvalidJson()
        _check_tree(data)
        return data


def _client_ip(headers, peer: str) -> str:
    """The caller's address: Vercel's forwarding headers behind Vercel only, else the socket's peer."""
    if settings.on_vercel():
        forwarded = (headers.get("x-forwarded-for") or "").split(",")[0].strip()
        return forwarded or (headers.get("x-real-ip") or "").strip() or peer
    return peer


def _refuse_constant(name: str):
    raise ValueError(name)


def _check_tree(data: dict) -> None:
    """400 for JSON nested over MAX_JSON_DEPTH; 422 naming the top-level field of a string (key or value, at any
    depth) that holds a lone surrogate, which no UTF-8 text can carry to OpenAI or a store."""
    for key, value in data.items():
        if _SURROGATE.search(key):
            raise ValidationFailed("body", _SURROGATE_PROBLEM)
        pending = [(value, 2)]
        while pending:
            item, depth = pending.pop()
            if depth > MAX_JSON_DEPTH:
                raise InvalidJson("The request body is nested too deeply.")
            if isinstance(item, str):
                if _SURROGATE.search(item):
                    raise ValidationFailed(key, _SURROGATE_PROBLEM)
            elif isinstance(item, dict):
                if any(_SURROGATE.search(name) for name in item):
                    raise ValidationFailed(key, _SURROGATE_PROBLEM)
                pending.extend((inner, depth + 1) for inner in item.values())
            elif isinstance(item, list):
                pending.extend((inner, depth + 1) for inner in item)


_SURROGATE_PROBLEM = "must be valid Unicode text (it holds a lone surrogate)"


@dataclass
class JsonResponse:
    """A JSON body with a status and extra headers."""

    body: dict
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RawResponse:
    """A body that is not JSON (an SDP answer), with its content type."""

    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class EventStream:
    """Server-Sent Events: each event is written and flushed as the iterator yields it."""

    events: Iterator[dict]
    headers: dict[str, str] = field(default_factory=dict)


def _hung_up(connection) -> bool:
    """The caller closed its end (a request is fully read before a stream starts, so nothing else is readable)."""
    try:
        poller = select.poll()
        poller.register(connection, select.POLLIN | select.POLLHUP | select.POLLERR)
        if not poller.poll(0):
            return False
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


def sse_frame(event: dict) -> bytes:
    """One SSE event, `event: <type>` and `data: <json>` (UTF-8 JSON by orjson: the stream's hot path)."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class ApiHandler(BaseHTTPRequestHandler):
    """Subclass per function with `routes = {"POST": "method_name"}`; a route gets an authenticated Request."""

    routes: dict[str, str] = {}
    public = False  # True: no credentials asked (the dashboard's config)
    server_version = "finance-dashboard-api"
    disable_nagle_algorithm = True  # as Vercel serves handlers: small SSE writes go out at once

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_OPTIONS(self):
        self._serve("OPTIONS")

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the caller hung up or went quiet; nothing left to answer
            self.close_connection = True

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # replaced by one JSON line per request (_log_line)
        pass

    def log_request(self, code="-", size="-"):
        pass  # Vercel's runtime overrides log_message to print an access line on stdout: ours is the JSON line

    def log_error(self, format, *args):
        pass  # only a connection that timed out before sending a request: nothing to log

    def send_error(self, code, message=None, explain=None):
        """Protocol-level errors (bad request line, huge headers) as JSON too."""
        self.request_version = "HTTP/1.0"  # answer with a status line even to an unparsable request
        self.close_connection = True
        error = ApiError(message or "Malformed HTTP request.")
        error.status, error.code = code, "bad_http_request"
        self._cors, self._logged = {}, True
        log.info(status=code, error=error.code)  # this request's one line: there is no route to name
        self._write_error(error)

    def _serve(self, method: str):
        self._started = time.perf_counter()
        self._cors: dict[str, str] = {}
        self._status = 500
        self._logged = False
        self._log_fields = log.start_request()
        self._request_id = request_id = self._new_request_id()
        try:
            access = settings.access()
            self._cors = cors_headers(self.headers.get("Origin"), self.headers.get("Host"), access)
            if method == "OPTIONS":
                return self._preflight()
            allowed = list(self.routes)
            if method not in self.routes:
                raise MethodNotAllowed(method, allowed + ["OPTIONS"])
            caller = None if self.public else authenticate(self.headers.get("Authorization"), access)
            if caller:
                log.note(userHash=log.user_hash(caller.user_id))
            request = self._request(method, request_id, caller)
            self._respond(getattr(self, self.routes[method])(request), request_id)
        except ApiError as error:
            log.note(error=error.code, upstreamRequestId=getattr(error, "upstream_request_id", None))
            self._audit_refusal(error)
            self._write_error(error, request_id)
        except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes a 500
            self._log_exception(exc, request_id)
            self._write_error(ApiError(f"Unexpected server error (request {request_id})."), request_id)
        finally:
            self._log_line()

    def _audit_refusal(self, error: ApiError) -> None:
        """A refused credential goes to the audit trail (lib/audit.py, above this module: imported only then)."""
        if error.status == 401 and self.headers.get("Authorization"):
            from lib import audit

            audit.refused(error, self.headers, self.client_address[0])

    def _new_request_id(self) -> str:
        """Vercel's own request id when running on Vercel (it sets x-vercel-id there), else a new one."""
        vercel_id = self.headers.get("x-vercel-id") if settings.on_vercel() else None
        return vercel_id if vercel_id and _VERCEL_ID.fullmatch(vercel_id) else uuid.uuid4().hex

    def _request(self, method: str, request_id: str, caller: Caller | None) -> Request:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        client_ip = _client_ip(self.headers, self.client_address[0])
        return Request(method, parts.path, query, self.headers, self._read_body, request_id, caller, client_ip)

    def _read_body(self) -> bytes:
        """The body, whole: sized by Content-Length or chunked; 413 over 64 KiB, 408 when it stops coming."""
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if not chunked:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise InvalidJson("Content-Length is not a number.") from None
            if length > MAX_BODY_BYTES:
                self.close_connection = True  # the unread body must not be taken for a next request
                self._discard(length)
                raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {MAX_BODY_BYTES}.")
            if length <= 0:
                return b""
        timeout = self.connection.gettimeout()
        self.connection.settimeout(min(timeout or BODY_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS))
        try:
            return self._read_chunked() if chunked else self._read_exactly(length)
        except (ApiError, TimeoutError) as exc:
            self.close_connection = True  # whatever is left of the body must not be read as a next request
            if isinstance(exc, TimeoutError):
                raise RequestTimeout() from None
            raise
        finally:
            self.connection.settimeout(timeout)

    def _discard(self, length: int) -> None:
        """Read and drop a body too large to take (up to MAX_DISCARD_BYTES, as servers do): a client still
        sending when the connection closes gets a reset instead of our 413."""
        if length > MAX_DISCARD_BYTES:
            return
        timeout = self.connection.gettimeout()
        self.connection.settimeout(min(timeout or BODY_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS))
        try:
            while length > 0 and (piece := self.rfile.read(min(length, 65536))):
                length -= len(piece)
        except OSError:
            pass  # the caller stopped sending: the 413 goes out anyway
        finally:
            self.connection.settimeout(timeout)

    def _read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length)
        if len(data) < length:
            raise BadHttpRequest(f"The request body ended after {len(data)} of its {length} bytes.")
        return data

    def _read_chunked(self) -> bytes:
        """A `Transfer-Encoding: chunked` body (RFC 9112, section 7.1), trailers read and ignored."""
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_line):
                raise BadHttpRequest("The chunked request body is malformed.")
            size = int(size_line, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"The request body is over the limit of {MAX_BODY_BYTES} bytes.")
            body += self._read_exactly(size)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadHttpRequest("The chunked request body is malformed.")
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        return bytes(body)

    def _preflight(self):
        headers = {**self._cors, "Access-Control-Allow-Methods": ", ".join([*self.routes, "OPTIONS"]),
                   "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS, "Access-Control-Max-Age": "600"}
        self._write(204, b"", None, headers)

    def _respond(self, response: JsonResponse | RawResponse | EventStream, request_id: str):
        if isinstance(response, EventStream):
            return self._stream(response, request_id)
        if isinstance(response, RawResponse):
            return self._write(response.status, response.body, response.content_type,
                               {**response.headers, "X-Request-Id": request_id})
        body = json.dumps(response.body, ensure_ascii=False).encode()
        self._write(response.status, body, "application/json", {**response.headers, "X-Request-Id": request_id})

    def _stream(self, response: EventStream, request_id: str):
        self._start(200, "text/event-stream; charset=utf-8", {
            **response.headers, "X-Request-Id": request_id,
            "Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no",
        })
        self.close_connection = True  # no Content-Length: the stream ends when the connection does
        events = response.events
        written = deadline.now()
        try:
            for event in events:
                if event is None:  # an idle tick (lib/deadline.paced): see a hang-up at once, keep the line alive
                    if _hung_up(self.connection):
                        break
                    if deadline.now() - written < settings.HEARTBEAT_SECONDS:
                        continue
                    frame = b": keepalive\n\n"  # an SSE comment: readers ignore it, proxies see traffic
                else:
                    frame = sse_frame(event)
                stamp = deadline.now()  # before the write: a reader acting on this frame acts after it
                self.wfile.write(frame)
                self.wfile.flush()
                written = stamp
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the caller hung up (or stopped reading): closing the events (below) stops the upstream and stores what was sent
        finally:
            close = getattr(events, "close", None)
            if close:
                close()

    def _write_error(self, error: ApiError, request_id: str | None = None):
        headers = dict(error.headers)
        if request_id:
            headers["X-Request-Id"] = request_id
        self._write(error.status, error.to_json(), "application/json", headers)

    def _write(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]):
        self._start(status, content_type, {**headers, "Content-Length": str(len(body))})
        self._log_line()  # before the body's last byte: once the caller has its answer, the log line is written
        if self.command != "HEAD":
            self.wfile.write(body)

    def _start(self, status: int, content_type: str | None, headers: dict[str, str]):
        self._status = status
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        headers.setdefault("Cache-Control", "no-store")
        for name, value in {**headers, **self._cors, "X-Content-Type-Options": "nosniff"}.items():
            self.send_header(name, value)
        self.end_headers()

    def _log_line(self):
        """This request's one log line, written once: before a whole body's last byte, else as the handler ends."""
        if self._logged:
            return
        self._logged = True
        log.info(requestId=self._request_id, method=self.command, route=urlsplit(self.path).path,
                 status=self._status, ms=round((time.perf_counter() - self._started) * 1000, 1), **self._log_fields)

    def _log_exception(self, exc: BaseException, request_id: str):
        log.error(requestId=request_id, error=type(exc).__name__)

