"""One request's door to history: who asks, the store (opened once, when first needed) or why there is none, the
keep-history rule, and the one guard that turns the store's failures into API errors."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

from lib import log, settings, stores
from lib.access import Caller
from lib.errors import HistoryDisabled, HistoryForUsersOnly, HistoryUnavailable, StoreUnavailable
from lib.settings import HistorySettings, Limits

ANONYMOUS_OFF = "Chat history is off for anonymous callers on this deployment: sign in to keep it."
_UNOPENED = object()


def subject_for(caller: Caller, client_ip: str) -> str:
    """Who is counted: the user id when authenticated, the client address when anonymous; hashed."""
    raw = f"ip:{client_ip}" if caller.kind == "anonymous" else f"user:{caller.user_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class History:
    """The caller's history for one request; `turns`, `conversations`, `rooms`, `voice_calls`, `transcripts` and
    `limits` reach the store only through it."""

    def __init__(self, caller: Caller, client_ip: str, cfg: HistorySettings | None = None,
                 spending: Limits | None = None):
        self.caller = caller
        self.subject = subject_for(caller, client_ip)
        self.cfg = cfg or settings.history()
        self.spending = spending or settings.limits()
        self._store = _UNOPENED

    @classmethod
    def of(cls, request) -> History:
        """The history of an authenticated request (lib.httpkit.Request)."""
        return cls(request.caller, request.client_ip)

    @property
    def owns_rows(self) -> bool:
        """The keep-history rule: whether conversations and calls of the caller's own are stored. Supabase's rows
        belong to users in auth.users, so token holders and anonymous callers own none there (a room they joined
        is its owner's: membership decides)."""
        return (self.caller.keeps_history and self.cfg.backend is not None
                and not (self.cfg.backend == "supabase" and self.caller.kind != "user"))

    def why_unsaved(self) -> type[HistoryDisabled]:
        """The warning for a turn that is answered but not stored (owns_rows is False)."""
        return HistoryForUsersOnly if self.cfg.backend == "supabase" else HistoryDisabled

    @contextmanager
    def store(self, event: str = "history_unavailable", conversation_id: str | None = None) -> Iterator[stores.Store]:
        """The store, for the block: 503 history_disabled when this caller has none, 503 history_unavailable
        (logged once as `event`) when it fails inside the block."""
        if not self.caller.keeps_history:
            raise HistoryDisabled(ANONYMOUS_OFF)
        with self.guard(event, conversation_id):
            store = self._open()
            if store is None:
                raise HistoryDisabled()
            yield store

    @contextmanager
    def counter(self) -> Iterator[stores.Store | None]:
        """The store limits are counted in, whoever the caller, or None when history is off; its failures are
        503 history_unavailable, logged as limits_store_unavailable."""
        with self.guard("limits_store_unavailable"):
            yield self._open()

    @contextmanager
    def guard(self, event: str, conversation_id: str | None = None) -> Iterator[None]:
        """The one place a store's failure is caught: logged as `event`, raised as 503 history_unavailable."""
        try:
            yield
        except StoreUnavailable as exc:
            fields = {"conversationHash": log.conversation_hash(conversation_id)} if conversation_id else {}
            log.error(event=event, **fields, error=type(exc).__name__)
            raise HistoryUnavailable() from None

    def run(self, operation, event: str = "history_unavailable"):
        """operation(store), inside store() (see there)."""
        with self.store(event) as store:
            return operation(store)

    def store_or_none(self) -> stores.Store | None:
        """The store whoever the caller (opened once), or None when history is off; use inside guard()."""
        return self._open()

    def _open(self) -> stores.Store | None:
        if self._store is _UNOPENED:
            self._store = stores.open_store(self.cfg)
        return self._store
