"""Spending limits per user, counted where every instance sees them: the store, else this instance's memory."""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from datetime import datetime, timezone

from lib import log, stores
from lib.access import Caller
from lib.errors import RateLimited
from lib.settings import HistorySettings, Limits
from lib.stores import Bucket, Usage

MINUTE, DAY = 60, 86400


def chat_buckets(limits: Limits) -> list[Bucket]:
    """The buckets one chat message counts against (0 = off)."""
    buckets = [Bucket("chat:minute", MINUTE, limits.chat_per_minute), Bucket("chat:day", DAY, limits.chat_per_day)]
    if limits.chat_tokens_per_day:
        buckets.append(Bucket("tokens:day", DAY, limits.chat_tokens_per_day, cost=0))  # checked, paid after
    return [bucket for bucket in buckets if bucket.limit > 0]


def realtime_buckets(limits: Limits) -> list[Bucket]:
    return [bucket for bucket in [Bucket("realtime:minute", MINUTE, limits.realtime_keys_per_minute)]
            if bucket.limit > 0]


def subject_for(caller: Caller, client_ip: str) -> str:
    """Who is counted: the user id when authenticated, the client address when anonymous; hashed."""
    raw = f"ip:{client_ip}" if caller.kind == "anonymous" else f"user:{caller.user_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def client_ip(headers, peer: str) -> str:
    """The caller's address: Vercel's forwarding headers behind Vercel only, else the socket's peer."""
    if os.environ.get("VERCEL") == "1":
        forwarded = (headers.get("x-forwarded-for") or "").split(",")[0].strip()
        return forwarded or (headers.get("x-real-ip") or "").strip() or peer
    return peer


def enforce(subject: str, buckets: list[Bucket], cfg: HistorySettings) -> None:
    """Count this request; 429 naming the first limit it breaks."""
    if not buckets:
        return
    for usage in consume(subject, buckets, cfg):
        if not usage.allowed:
            raise _refusal(next(b for b in buckets if b.name == usage.bucket), usage)


def record_tokens(subject: str, tokens: int, limits: Limits, cfg: HistorySettings) -> None:
    """Add a reply's tokens to the daily budget (when one is set)."""
    if limits.chat_tokens_per_day and tokens:
        consume(subject, [Bucket("tokens:day", DAY, limits.chat_tokens_per_day, cost=tokens)], cfg)


def consume(subject: str, buckets: list[Bucket], cfg: HistorySettings) -> list[Usage]:
    """Count in the shared store; if there is none, or it fails, in this instance's memory."""
    try:
        store = stores.open_store(cfg)
        if store is not None:
            return store.consume_limits(subject, buckets)
    except stores.StoreUnavailable as exc:
        log.error(event="limits_store_unavailable", error=type(exc).__name__)
    return _memory.consume(subject, buckets)


def _refusal(bucket: Bucket, usage: Usage) -> RateLimited:
    wait = max(1, math.ceil(usage.reset_at - time.time()))
    reset = datetime.fromtimestamp(usage.reset_at, timezone.utc)
    messages = {
        "chat:minute": f"Too many messages: at most {bucket.limit} per minute. Try again in {wait} s.",
        "chat:day": f"Daily message limit reached ({bucket.limit} per day). It resets at {reset:%H:%M} UTC.",
        "tokens:day": f"Daily token budget used up ({bucket.limit} tokens per day). It resets at {reset:%H:%M} UTC.",
        "realtime:minute": f"Too many voice sessions started: at most {bucket.limit} per minute. "
                           f"Try again in {wait} s.",
    }
    return RateLimited(messages[bucket.name], headers={"Retry-After": str(wait)}, limit=bucket.name,
                       resetAt=reset.isoformat().replace("+00:00", "Z"))


class MemoryCounter:
    """Per-instance fixed windows: the fallback with no shared store (each serverless instance counts alone)."""

    def __init__(self):
        self._used: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def consume(self, subject: str, buckets: list[Bucket]) -> list[Usage]:
        now = time.time()
        results = []
        with self._lock:
            for bucket in buckets:
                start = int(now // bucket.window * bucket.window)
                key = (subject, bucket.name, start)
                used = self._used.get(key, 0) + bucket.cost
                self._used[key] = used
                results.append(Usage(bucket.name, used - bucket.cost < bucket.limit, used, start + bucket.window))
            if len(self._used) > 10_000:
                self._used = {k: v for k, v in self._used.items() if k[2] > now - 2 * DAY}
        return results


_memory = MemoryCounter()
