"""One JSON log line per request on stderr (Vercel keeps stderr as the function's log)."""

from __future__ import annotations

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


def info(**fields) -> None:
    """Log one line of fields: names and numbers only, never message content or credentials."""
    logger.info("", extra={"fields": fields})


def error(**fields) -> None:
    logger.error("", extra={"fields": fields})
