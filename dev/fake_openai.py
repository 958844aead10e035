"""A loopback stand-in for the OpenAI API: real HTTP, real streaming, scriptable faults."""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("rate_limit", "quota", "500", "503", "401", "403", "model_not_found", "hang", "cut", "malformed", "stream_error",
          "drop", "endless_error", "huge_headers", "drip", "header_drip", "error_drip")
DRIP_SECONDS = 0.2  # a dripping answer's pace: each byte well within any read timeout, the whole never done
_INLINE_FAULT = re.compile(r"#fault=([a-z0-9_]+)")
MODERATION_CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
                         "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent", "sexual",
                         "sexual/minors", "violence", "violence/graphic")
_HANGUP = re.compile(r"^/v1/realtime/calls/([A-Za-z0-9_-]+)/hangup$")


def _form(raw: bytes, content_type: str) -> dict:
    """A multipart/form-data body as {name: value}; JSON parts (the session) parsed."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    form = {}
    for part in message.iter_parts():
        value = part.get_payload(decode=True).decode()
        form[part.get_param("name", header="content-disposition")] = (
            json.loads(value) if part.get_content_type() == "application/json" else value)
    return form


def reply_for(text: str) -> str:
    """The stand-in's deterministic answer to a user message."""
    return f"Echo: {text}"


def _error(status: int, code: str, message: str, kind: str = "invalid_request_error") -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


_FAULT_ANSWERS = {
    "rate_limit": _error(429, "rate_limit_exceeded", "Rate limit reached for requests", "requests"),
    "quota": _error(429, "insufficient_quota", "You exceeded your current quota", "insufficient_quota"),
    "500": _error(500, "server_error", "The server had an error", "server_error"),
    "503": _error(503, "service_unavailable", "The engine is currently overloaded", "server_error"),
    "401": _error(401, "invalid_api_key", "Incorrect API key provided: sk-...", "invalid_request_error"),
    "403": _error(403, "unsupported_country_region_territory", "Forbidden", "request_forbidden"),
    "model_not_found": _error(404, "model_not_found", "The model does not exist or you do not have access to it."),
}


class FakeOpenAIHandler(BaseHTTPRequestHandler):
    """Answers chat completions, Realtime client secrets, calls and hangups like OpenAI does."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "FakeOpenAI"

    def log_message(self, *args):  # quiet: tests read the recorded requests instead
        pass

    def do_OPTIONS(self):
        """CORS preflight: the browser posts its SDP offer here directly, as it does to OpenAI."""
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cors(self):
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Vary", "Origin")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/v1/realtime/calls" and self.headers.get("Content-Type", "").startswith("application/sdp"):
            return self._call(raw.decode())  # the browser's own offer, with a client secret
        body = _form(raw, self.headers.get("Content-Type", "")) if self.path == "/v1/realtime/calls" else (
            json.loads(raw or b"{}"))
        self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._json(*_error(401, "missing_api_key", "You didn't provide an API key."))
        fault = self.server.take_fault(body)
        if fault in _FAULT_ANSWERS:
            return self._json(*_FAULT_ANSWERS[fault], headers={"retry-after": "7"} if fault == "rate_limit" else None)
        if fault == "hang":
            time.sleep(self.server.hang_seconds)
            return self._json(*_error(500, "server_error", "late"))
        if fault == "endless_error":  # an error body that never ends: the reader must cut it
            return self._endless_error()
        if fault in ("drip", "header_drip", "error_drip"):  # alive, but never done: only a deadline ends it
            return self._drip(fault, bool(body.get("stream")))
        if fault == "huge_headers":  # a header block past any sane bound
            self.send_response(200)
            for index in range(1000):
                self.send_header(f"x-filler-{index}", "x" * 100)
            self.end_headers()
            return
        if fault == "drop":  # the request read, the connection closed without a word (as an idle one is ended)
            self.close_connection = True
            return
        if self.path == "/v1/chat/completions":
            return self._chat(body, fault)
        if self.path == "/v1/moderations":
            return self._moderation(body)
        if self.path == "/v1/realtime/client_secrets":
            return self._client_secret(body, fault)
        if self.path == "/v1/realtime/calls":
            return self._server_call(body, fault)
        hangup = _HANGUP.match(self.path)
        if hangup:
            return self._hangup(hangup.group(1))
        return self._json(*_error(404, "unknown_url", f"Unknown path {self.path}"))

    def _chat(self, body: dict, fault: str | None):
        user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        text = reply_for(_INLINE_FAULT.sub("", user).strip())
        usage = {"prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])),
                 "completion_tokens": len(text.split())}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if fault == "malformed" and not body.get("stream"):
            return self._raw(200, "application/json", b'{"id": "chatcmpl-x", "choices": [')
        if not body.get("stream"):
            return self._json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text, "refusal": None}}],
            })
        self._stream(body, text, usage, fault)

    def _moderation(self, body: dict):
        """POST /moderations: flagged when the input holds `#flagged` (harassment), else not."""
        text = body.get("input") if isinstance(body.get("input"), str) else json.dumps(body.get("input"))
        flagged = "#flagged" in text
        categories = {name: flagged and name == "harassment" for name in MODERATION_CATEGORIES}
        return self._json(200, {"id": "modr-" + secrets.token_hex(6), "model": body.get("model"), "results": [{
            "flagged": flagged, "categories": categories,
            "category_scores": {name: 0.9 if flagged and name == "harassment" else 0.001 for name in categories},
            "category_applied_input_types": {name: ["text"] for name in categories},
        }]})

    def _stream(self, body: dict, text: str, usage: dict, fault: str | None):
        try:
            self._send_stream(body, text, usage, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.server.stream_aborted.set()  # the caller hung up mid-stream

    def _send_stream(self, body: dict, text: str, usage: dict, fault: str | None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", "req_fake")
        self.end_headers()
        words = re.findall(r"\S+\s*", text)
        if self.server.cuts is not None:  # the reply cut at these character positions instead of after words
            ends = sorted({0, *(c for c in self.server.cuts if 0 < c < len(text)), len(text)})
            words = [text[a:b] for a, b in zip(ends, ends[1:])]
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model")}
        if self.server.thinking is not None:  # a reasoning model: its role at once, then no words for a while
            self._chunk({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                              "finish_reason": None}]})
            self.server.thinking_began.set()
            self.server.thinking.wait(60)
        for index, word in enumerate(words):
            if fault == "cut" and index == max(1, len(words) // 2):
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # no final chunk: a dropped stream
                return
            if fault == "malformed" and index == 1:
                self._chunk_raw(b"data: {not json\n\n")
                self._chunk_raw(b"")
                return
            if fault == "stream_error" and index == 1:
                self._chunk({"error": {"message": "The server had an error while processing", "type": "server_error"}})
                self._chunk_raw(b"")
                return
            self._chunk({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
            if index == 0 and self.server.gate is not None:
                self.server.gate.wait(60)  # tests hold the stream here to see what already reached the client
            time.sleep(self.server.chunk_delay)
        self._chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._chunk({**base, "choices": [], "usage": usage})
        self._chunk_raw(b"data: [DONE]\n\n")
        self._chunk_raw(b"")

    def _endless_error(self):
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                self._chunk_raw(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            self.server.stream_aborted.set()

    def _drip(self, fault: str, stream: bool = False):
        """One byte of the answer (of its header block for header_drip) at a time, until the reader cuts it; a
        streamed reply's drips one byte of its first event at a time."""
        try:
            self.wfile.write(f"HTTP/1.1 {500 if fault == 'error_drip' else 200} OK\r\n".encode())
            if fault == "drip" and stream:
                self.wfile.write(b"Content-Type: text/event-stream\r\n\r\ndata: ")
            elif fault != "header_drip":
                self.wfile.write(b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            self.wfile.flush()
            self.server.dripping.set()
            while True:
                self.wfile.write(b"x-drip: 1\r\n" if fault == "header_drip" else b" ")
                self.wfile.flush()
                time.sleep(DRIP_SECONDS)
        except (BrokenPipeError, ConnectionResetError):
            self.server.stream_aborted.set()
            self.close_connection = True

    def _chunk(self, payload: dict):
        self._chunk_raw(f"data: {json.dumps(payload)}\n\n".encode())

    def _chunk_raw(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_secret(self, body: dict, fault: str | None):
        if fault == "malformed":
            return self._raw(200, "application/json", b"{not json")
        session = {"object": "realtime.session", "id": "sess_" + secrets.token_hex(8),
                   **(body.get("session") or {})}
        ttl = (body.get("expires_after") or {}).get("seconds", 600)
        value = "ek_" + secrets.token_hex(12)
        self.server.minted.add(value)
        return self._json(200, {"value": value, "expires_at": int(time.time()) + ttl, "session": session})

    def _server_call(self, form: dict, fault: str | None):
        """POST /v1/realtime/calls from a server: the offer and the session as multipart parts, the server's key."""
        if fault == "malformed":
            return self._raw(201, "application/sdp", b"<html>", headers={"Location": "/v1/realtime/calls/"})
        if not isinstance(form.get("sdp"), str):
            return self._json(*_error(400, "missing_required_parameter", "Missing required parameter: 'sdp'."))
        try:
            answer = self.server.realtime().answer(form["sdp"])
        except ImportError:
            return self._json(501, {"error": {"message": "the voice stand-in needs aiortc "
                                                         "(pip install -r requirements-dev.txt)"}})
        call_id = "rtc_" + secrets.token_hex(12)
        self.server.calls[call_id] = {"session": form.get("session"), "ended": False}
        self._raw(201, "application/sdp", answer.encode(), headers={"Location": f"/v1/realtime/calls/{call_id}"})

    def _hangup(self, call_id: str):
        call = self.server.calls.get(call_id)
        if call is None or call["ended"]:
            return self._json(*_error(404, "call_not_found", f"Call {call_id} not found."))
        call["ended"] = True
        self._raw(200, "application/json", b"")

    def _call(self, offer: str):
        """POST /v1/realtime/calls: an SDP offer in, the SDP answer out, for a key this stand-in minted."""
        self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()}, {"sdp": offer})
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not key.startswith("ek_"):
            return self._json(401, {"error": {"message": "Using the WebRTC connection requires an ephemeral client "
                                                         "key", "type": "invalid_request_error"}}, cors=True)
        if key not in self.server.minted:
            return self._json(401, {"error": {"message": "Invalid ephemeral key", "type": "invalid_request_error"}},
                              cors=True)
        try:
            answer = self.server.realtime().answer(offer)
        except ImportError:
            return self._json(501, {"error": {"message": "the voice stand-in needs aiortc "
                                                         "(pip install -r requirements-dev.txt)"}}, cors=True)
        self._raw(201, "application/sdp", answer.encode(), cors=True)

    def _json(self, status: int, payload: dict, headers: dict | None = None, cors: bool = False):
        self._raw(status, "application/json", json.dumps(payload).encode(), headers, cors)

    def _raw(self, status: int, content_type: str, data: bytes, headers: dict | None = None, cors: bool = False):
        self.send_response(status)
        if cors:
            self._cors()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_fake")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeOpenAI(ThreadingHTTPServer):
    """The stand-in server: records every request; faults come queued or inline as `#fault=NAME`."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops bursts of connections (SYN retried after 1 s)

    def __init__(self, address=("127.0.0.1", 0), chunk_delay: float = 0.005, hang_seconds: float = 30,
                 tls: tuple[str, str] | None = None):
        super().__init__(address, FakeOpenAIHandler)
        self.scheme = "http"
        if tls:  # (certificate file, key file): https, as OpenAI speaks
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket, self.scheme = context.wrap_socket(self.socket, server_side=True), "https"
        self.connections = 0  # accepted so far: kept-alive connections are counted once
        self._open: set = set()
        self.chunk_delay = chunk_delay
        self.hang_seconds = hang_seconds
        self.requests: list[dict] = []
        self.faults: list[str] = []
        self.gate: threading.Event | None = None
        self.thinking: threading.Event | None = None  # set: the stream holds before its first word until it is set
        self.thinking_began = threading.Event()  # set once a stream is holding there
        self.cuts: list[int] | None = None  # where a streamed reply is cut into chunks (default: after each word)
        self.stream_aborted = threading.Event()
        self.dripping = threading.Event()  # a drip fault has begun its answer
        self.minted: set[str] = set()
        self.calls: dict[str, dict] = {}  # call id -> {"session": what the server configured, "ended": bool}
        self._realtime = None
        self._lock = threading.Lock()

    def realtime(self):
        """The WebRTC stand-in, started on first use (it needs aiortc, a development dependency)."""
        with self._lock:
            if self._realtime is None:
                from dev.fake_realtime import RealtimeStandIn

                self._realtime = RealtimeStandIn()
            return self._realtime

    def get_request(self):
        connection, address = super().get_request()
        with self._lock:
            self.connections += 1
            self._open.add(connection)
        return connection, address

    def shutdown_request(self, request):
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self):
        """End every open connection, as a server ends the idle kept-alive ones."""
        import socket

        with self._lock:
            open_now = list(self._open)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # hang-ups are what the hang and cut faults cause
            super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, path: str, headers: dict, body: dict):
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})

    def fail_next(self, *faults: str):
        """Queue faults for the next requests, one each."""
        with self._lock:
            self.faults.extend(faults)

    def take_fault(self, body: dict) -> str | None:
        with self._lock:
            if self.faults:
                return self.faults.pop(0)
        last = (body.get("messages") or [{}])[-1].get("content", "")
        match = _INLINE_FAULT.search(str(last))
        return match.group(1) if match else None

    def start(self) -> "FakeOpenAI":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunk-delay", type=float, default=0.02)
    args = parser.parse_args()
    server = FakeOpenAI(("127.0.0.1", args.port), chunk_delay=args.chunk_delay)
    print(json.dumps({"base_url": server.base_url}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
