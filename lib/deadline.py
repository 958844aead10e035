"""One deadline per request, from its function's platform limit, and a streamed reply paced against it."""

from __future__ import annotations

import time
from typing import Iterator

from lib.settings import DEADLINE_MARGIN_SECONDS, MAX_DURATION_SECONDS

TICK_SECONDS = 0.25  # an idle stream checks its caller and its deadline this often (a hang-up is seen within 1 s)
THINKING_AFTER_SECONDS = 2.0  # no words this long after the request began: the model is reasoning
TIME_UP = object()  # what paced() yields once the deadline is reached; nothing follows it
THINKING = {"type": "status", "status": "thinking"}  # the page shows "réflexion…" until the first words

_clock = time.monotonic  # tests freeze it (set_clock): no test waits on the wall clock


def now() -> float:
    """The clock deadlines are measured on."""
    return _clock()


def set_clock(clock) -> None:
    """Measure deadlines on `clock` (tests: a frozen clock they move by hand)."""
    global _clock
    _clock = clock


class Deadline:
    """The moment a request must have answered by: its function's maxDuration less a margin, from its start."""

    def __init__(self, function: str, start: float | None = None):
        self.start = now() if start is None else start
        self.at = self.start + MAX_DURATION_SECONDS[function] - DEADLINE_MARGIN_SECONDS

    def left(self) -> float:
        return self.at - now()

    def passed(self) -> bool:
        return self.left() <= 0


def paced(chunks: Iterator[dict | None], deadline: Deadline) -> Iterator:
    """The chunks of a reader that yields None when a tick passes without one (lib/openai_stream.chunks with
    `tick`), read on the caller's own thread: None on each idle tick (the caller's turn to send a heartbeat or see a
    hang-up), THINKING once when no words have come for THINKING_AFTER_SECONDS, TIME_UP when the deadline is
    reached.
    """
    words = thinking = False
    try:
        for chunk in chunks:
            if deadline.passed():
                yield TIME_UP
                return
            if chunk is None:
                if words or thinking or now() - deadline.start < THINKING_AFTER_SECONDS:
                    yield None
                else:
                    thinking = True
                    yield dict(THINKING)
                continue
            words = words or _has_words(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


def _has_words(chunk: dict) -> bool:
    return any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices") or ())
