"""One JSON log line per request (plus errors): to the host's logging when it has one (Vercel's runtime), else stderr."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import sys

logger = logging.getLogger("api")

# Libraries whose INFO lines (turned on by Vercel's runtime for every logger) carry URLs with raw user and
# conversation ids: only their warnings and errors pass.
QUIET_LIBRARIES = ("httpx", "httpcore", "openai", "hpack", "h2", "h11", "urllib3", "postgrest")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (so captured output, in tests, sees it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _no_host_logging(record: logging.LogRecord) -> bool:
    """Write to stderr only when nobody set up logging: a host that did (Vercel's vc_init) gets the records
    themselves through propagation, with their levels, instead of unlevelled stderr text."""
    return not logging.getLogger().handlers


if not logger.handlers:
    _handler = _CurrentStderr()
    _handler.setFormatter(_JsonLines())
    _handler.addFilter(_no_host_logging)
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    for _name in QUIET_LIBRARIES:
        logging.getLogger(_name).setLevel(logging.WARNING)


_request_fields: contextvars.ContextVar[dict | None] = contextvars.ContextVar("request_fields", default=None)


def start_request() -> dict:
    """Begin collecting fields for this request's log line (each request runs in its own thread)."""
    fields: dict = {}
    _request_fields.set(fields)
    return fields


def note(**fields) -> None:
    """Add fields to the current request's log line, if one is being collected."""
    current = _request_fields.get()
    if current is not None:
        current.update({key: value for key, value in fields.items() if value is not None})


def user_hash(user_id: str) -> str:
    """A stable, non-reversible tag for a user id in logs."""
    return hashlib.sha256(f"log:{user_id}".encode()).hexdigest()[:16]


def conversation_hash(conversation_id: str) -> str:
    """A stable, non-reversible tag for a conversation id in logs (ids never appear raw)."""
    return hashlib.sha256(f"log:conversation:{conversation_id}".encode()).hexdigest()[:16]


def _emit(level: int, fields: dict) -> None:
    line = json.dumps({"level": logging.getLevelName(level).lower(), **fields})
    logger.log(level, "%s", line, extra={"fields": fields})


def info(**fields) -> None:
    """Log one line of fields: names and numbers only, never message content or credentials."""
    _emit(logging.INFO, fields)


def error(**fields) -> None:
    _emit(logging.ERROR, fields)
