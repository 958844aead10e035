"""Spending limits per user and for the whole deployment, counted where every instance sees them: the store,
else this instance's memory. A request takes from all its buckets or from none; token costs are reserved
before OpenAI is called and settled to what it really cost afterwards."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lib.errors import HistoryUnavailable, RateLimited
from lib.history import History
from lib.settings import Limits
from lib.stores import Bucket, Charge, Usage
from lib.usage import counted_refusal, counted_voice_session

MINUTE, DAY = 60, 86400
GLOBAL = "global"  # the subject of the deployment-wide buckets
TOKEN_BUCKETS = ("tokens:day", "global:tokens:day")
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators OpenAI adds around each message


def chat_buckets(limits: Limits, subject: str, tokens: int) -> list[Bucket]:
    """The buckets one chat message counts against (0 = off), its token reservation in the token ones."""
    return _on([
        Bucket("chat:minute", MINUTE, limits.chat_per_minute, 1, subject),
        Bucket("chat:day", DAY, limits.chat_per_day, 1, subject),
        Bucket("tokens:day", DAY, limits.chat_tokens_per_day, tokens, subject),
        Bucket("global:chat:day", DAY, limits.global_messages_per_day, 1, GLOBAL),
        Bucket("global:tokens:day", DAY, limits.global_tokens_per_day, tokens, GLOBAL),
    ])


def message_buckets(limits: Limits, subject: str, count: int) -> list[Bucket]:
    """The daily buckets `count` stored messages with no OpenAI call (a call's transcript) count against."""
    return _on([
        Bucket("chat:day", DAY, limits.chat_per_day, count, subject),
        Bucket("global:chat:day", DAY, limits.global_messages_per_day, count, GLOBAL),
    ])


def voice_buckets(limits: Limits, subject: str) -> list[Bucket]:
    """The buckets one voice session (a key minted or a call started) counts against (0 = off)."""
    return _on([
        Bucket("realtime:minute", MINUTE, limits.realtime_keys_per_minute, 1, subject),
        Bucket("realtime:day", DAY, limits.realtime_sessions_per_day, 1, subject),
        Bucket("global:voice:day", DAY, limits.global_voice_sessions_per_day, 1, GLOBAL),
    ])


def _on(buckets: list[Bucket]) -> list[Bucket]:
    return [bucket for bucket in buckets if bucket.limit > 0]


def enforce_voice(history: History) -> None:
    """Count one voice session for this caller and the deployment; 429 naming the limit it would break."""
    reserve(voice_buckets(history.spending, history.subject), history)
    counted_voice_session(history)


def estimate_tokens(text: str) -> int:
    """An estimate of the tokens in a text: a quarter of its characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_estimate(contents: list[str]) -> int:
    """The tokens a prompt of these messages' contents is expected to cost (never zero)."""
    return sum(estimate_tokens(content) + MESSAGE_OVERHEAD_TOKENS for content in contents) or 1


@dataclass
class Reservation:
    """What a request took from its token buckets, until it is settled to what it really cost."""

    charges: list[Charge] = field(default_factory=list)
    reserved: int = 0
    in_memory: bool = False
    settled: bool = False

    def settle(self, tokens: int, history: History) -> None:
        """Replace the reservation by the real cost, once; later calls change nothing."""
        if self.settled:
            return
        self.settled = True
        delta = tokens - self.reserved
        if not self.charges or delta == 0:
            return
        corrections = [Charge(c.subject, c.bucket, c.window_start, delta) for c in self.charges]
        if self.in_memory:
            return _memory.settle(corrections)
        try:
            with history.counter() as store:
                if store is not None:
                    store.settle_limits(corrections)
        except HistoryUnavailable:  # the reservation stands: an over-count, never an under-count
            pass


def reserve(buckets: list[Bucket], history: History) -> Reservation:
    """Take from every bucket or, if one is full, from none and answer 429 naming it."""
    if not buckets:
        return Reservation()
    usages, in_memory = _reserve(buckets, history)
    refused = [(bucket, usage) for bucket, usage in zip(buckets, usages) if not usage.allowed]
    if refused:  # the limit that keeps the caller out the longest
        counted_refusal(history, [bucket for bucket, _ in refused])
        raise _refusal(*max(refused, key=lambda pair: pair[1].reset_at))
    tokens = [(bucket, usage) for bucket, usage in zip(buckets, usages) if bucket.name in TOKEN_BUCKETS]
    return Reservation([Charge(bucket.subject, bucket.name, round(usage.reset_at) - bucket.window, 0)
                        for bucket, usage in tokens], tokens[0][0].cost if tokens else 0, in_memory)


def _reserve(buckets: list[Bucket], history: History) -> tuple[list[Usage], bool]:
    """Count in the shared store; if there is none, or it fails, in this instance's memory."""
    try:
        with history.counter() as store:
            if store is not None:
                return store.reserve_limits(buckets), False
    except HistoryUnavailable:
        pass
    return _memory.reserve(buckets), True


_MESSAGES = {
    "chat:minute": "Too many messages: at most {limit} per minute. Try again in {wait} s.",
    "chat:day": "Daily message limit reached ({limit} per day). It resets at {reset:%H:%M} UTC.",
    "tokens:day": "Daily token budget used up ({limit} tokens per day). It resets at {reset:%H:%M} UTC.",
    "realtime:minute": "Too many voice sessions started: at most {limit} per minute. Try again in {wait} s.",
    "realtime:day": "Daily voice session limit reached ({limit} per day). It resets at {reset:%H:%M} UTC.",
    "global:chat:day": "This service's daily message ceiling, shared by all its users, is reached ({limit} per "
                       "day). It resets at {reset:%H:%M} UTC.",
    "global:tokens:day": "This service's daily token ceiling, shared by all its users, is reached ({limit} tokens "
                         "per day). It resets at {reset:%H:%M} UTC.",
    "voice:chars": "This call's transcript is full: at most {limit} more characters now.",
    "global:voice:day": "This service's daily voice session ceiling, shared by all its users, is reached ({limit} "
                        "per day). It resets at {reset:%H:%M} UTC.",
}


def _refusal(bucket: Bucket, usage: Usage) -> RateLimited:
    wait = max(1, math.ceil(usage.reset_at - time.time()))
    reset = datetime.fromtimestamp(usage.reset_at, timezone.utc)
    return RateLimited(_MESSAGES[bucket.name].format(limit=bucket.limit, wait=wait, reset=reset),
                       headers={"Retry-After": str(wait)}, limit=bucket.name,
                       resetAt=reset.isoformat().replace("+00:00", "Z"))


class MemoryCounter:
    """Per-instance fixed windows: the fallback with no shared store (each serverless instance counts alone)."""

    def __init__(self):
        self._used: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def reserve(self, buckets: list[Bucket]) -> list[Usage]:
        now = time.time()
        starts = [int(now // bucket.window * bucket.window) for bucket in buckets]
        keys = [(bucket.subject, bucket.name, start) for bucket, start in zip(buckets, starts)]
        with self._lock:
            used = [self._used.get(key, 0) for key in keys]
            fits = all(count < bucket.limit for count, bucket in zip(used, buckets))
            if fits:
                for key, bucket in zip(keys, buckets):
                    self._used[key] = self._used.get(key, 0) + bucket.cost
                used = [count + bucket.cost for count, bucket in zip(used, buckets)]
            if len(self._used) > 10_000:
                self._used = {k: v for k, v in self._used.items() if k[2] > now - 2 * DAY}
        return [Usage(bucket.name, fits or count < bucket.limit, count, start + bucket.window)
                for bucket, count, start in zip(buckets, used, starts)]

    def settle(self, charges: list[Charge]) -> None:
        with self._lock:
            for charge in charges:
                key = (charge.subject, charge.bucket, charge.window_start)
                if key in self._used:
                    self._used[key] = max(0, self._used[key] + charge.delta)

    def used(self, subject: str, bucket: str, window_start: int) -> int:
        """What a bucket's window holds (for tests and diagnostics)."""
        with self._lock:
            return self._used.get((subject, bucket, window_start), 0)


_memory = MemoryCounter()
