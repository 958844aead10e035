"""Serve one api/ function the way Vercel's Python runtime (vercel-runtime's vc_init.py) does, for the log tests.

Like vc_init with its IPC socket: before the function is imported, logging is set up with
`basicConfig(level=INFO, handlers=[<platform handler>], force=True)` and sys.stdout/sys.stderr are wrapped; the
function's `handler` is served as `class Handler(BaseHandler, handler)` on a ThreadingHTTPServer, where BaseHandler
prints an access line on stdout and wraps each request in the platform's request context. What would go to the
platform (a levelled log record, or a write on stdout/stderr) is printed on the real stdout as one JSON line.

Usage: python tests/vercel_host.py api/groupchat/chat.py [--plain]  (--plain: no platform logging, like a bare host)
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_real_stdout = sys.stdout
_lock = threading.Lock()
storage: contextvars.ContextVar[dict | None] = contextvars.ContextVar("storage", default=None)


def send_message(message: dict) -> None:
    with _lock:
        _real_stdout.write(json.dumps(message) + "\n")
        _real_stdout.flush()


def setup_logging() -> None:
    """vc_init's setup_logging: a levelled handler on the root logger, stdout and stderr wrapped."""

    class PlatformLogHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            level = ("fatal" if record.levelno >= logging.CRITICAL else "error" if record.levelno >= logging.ERROR
                     else "warn" if record.levelno >= logging.WARNING else "info" if record.levelno >= logging.INFO
                     else "debug")
            send_message({"type": "log", "context": storage.get(), "level": level, "logger": record.name,
                          "message": record.getMessage()})

    class StreamWrapper:
        def __init__(self, stream, name: str):
            self.stream, self.name = stream, name

        def write(self, message: str) -> None:
            send_message({"type": "log", "context": storage.get(), "stream": self.name, "message": message})

        def __getattr__(self, name):
            return getattr(self.stream, name)

    sys.stdout = StreamWrapper(sys.stdout, "stdout")
    sys.stderr = StreamWrapper(sys.stderr, "stderr")
    logging.basicConfig(level=logging.INFO, handlers=[PlatformLogHandler()], force=True)


def serve(relative: str) -> None:
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("vc_handler_module", ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class BaseHandler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # vc_init: the access line, on stdout
            sys.stdout.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}\n")

        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            context = {"invocationId": self.headers.get("x-vercel-internal-invocation-id", "0"),
                       "requestId": self.headers.get("x-vercel-internal-request-id", "0")}
            for name in ("x-vercel-internal-invocation-id", "x-vercel-internal-request-id",
                         "x-vercel-internal-span-id", "x-vercel-internal-trace-id"):
                del self.headers[name]
            token = storage.set(context)
            try:
                self.handle_request()
            finally:
                storage.reset(token)
                send_message({"type": "end", "context": context})

    class Handler(BaseHandler, module.handler):
        def handle_request(self) -> None:
            getattr(self, "do_" + self.command)()
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    send_message({"type": "server-started", "httpPort": server.server_address[1]})
    server.serve_forever()


if __name__ == "__main__":
    if "--plain" not in sys.argv:
        setup_logging()
    serve(sys.argv[1])
