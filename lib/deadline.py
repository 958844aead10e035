"""One deadline per request, from its function's platform limit, and a streamed reply paced against it."""

from __future__ import annotations

import queue
import threading
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


def paced(chunks: Iterator[dict], abort, deadline: Deadline) -> Iterator:
    """The chunks, read on a thread as they come; None on each idle tick (the caller's turn to send a heartbeat or
    see a hang-up), THINKING once when no words have come for THINKING_AFTER_SECONDS, TIME_UP when the deadline is
    reached.

    Closing it (or the deadline) calls `abort`, which must make a blocked read return at once.
    """
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    thread = threading.Thread(target=_pump, args=(chunks, inbox), daemon=True, name="upstream-reader")
    thread.start()
    words = thinking = False
    try:
        while True:
            if deadline.passed():
                yield TIME_UP
                return
            try:
                kind, value = inbox.get(timeout=TICK_SECONDS)
            except queue.Empty:
                if words or thinking or now() - deadline.start < THINKING_AFTER_SECONDS:
                    yield None
                else:
                    thinking = True
                    yield dict(THINKING)
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            words = words or _has_words(value)
            yield value
    finally:
        if thread.is_alive():
            abort()
            thread.join(1.0)


def _has_words(chunk: dict) -> bool:
    return any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices") or ())


def _pump(chunks: Iterator[dict], inbox: queue.SimpleQueue) -> None:
    try:
        for chunk in chunks:
            inbox.put(("chunk", chunk))
        inbox.put(("end", None))
    except BaseException as exc:  # noqa: BLE001 - handed to the reading side, which raises it
        inbox.put(("error", exc))
