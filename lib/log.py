"""One JSON log line per request on stderr (Vercel keeps stderr as the function's log)."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import sys

logger = logging.getLogger("api")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"level": record.levelname.lower(), **getattr(record, "fields", {})})


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (so captured output, in tests, sees it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


if not logger.handlers:
    _handler = _CurrentStderr()
    _handler.setFormatter(_JsonLines())
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


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


def info(**fields) -> None:
    """Log one line of fields: names and numbers only, never message content or credentials."""
    logger.info("", extra={"fields": fields})


def error(**fields) -> None:
    logger.error("", extra={"fields": fields})
