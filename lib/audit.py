"""The audit trail: one line per event a firm must answer for, with hashed ids and never a message's text."""

from __future__ import annotations

import hashlib

from lib import log
from lib.access import ANONYMOUS_USER_ID, Caller
from lib.errors import HistoryUnavailable, Unauthorized
from lib.history import History

KINDS = ("credential_refused", "room_created", "invitation_made", "invitation_revoked", "invitation_used", "member_removed",
         "member_left", "conversation_deleted", "data_exported", "data_erased", "retention_run", "admin_read",
         "ceiling_reached", "content_flagged")


def hashed(value: str) -> str:
    """What the trail keeps of an id or a credential: a stable tag that does not give it back."""
    return hashlib.sha256(f"audit:{value}".encode()).hexdigest()[:24]


def record(history: History, kind: str, target: str | None = None, **detail) -> None:
    """Append `kind`, done by the caller (hashed) to `target` (an id, hashed), with small `detail` (names and
    numbers only); a store that fails is logged (audit_unavailable) and the request goes on."""
    append(history, kind, hashed(history.caller.user_id), hashed(target) if target else "", detail)


def append(history: History, kind: str, actor: str, target: str, detail: dict) -> None:
    """One line as given (ids already hashed); with no store, the request's log line says it instead."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    try:
        with history.guard("audit_unavailable"):
            store = history.store_or_none()
            if store is None:
                log.note(audit=kind)
                return
            store.append_audit(kind, actor, target, detail)
    except HistoryUnavailable:
        pass  # the event happened; the log has the failure


def refused(error: Exception, headers, client_ip: str) -> None:
    """A credential presented and refused (401): its hash, never itself."""
    authorization = headers.get("Authorization") if isinstance(error, Unauthorized) else None
    if authorization:
        history = History(Caller("anonymous", ANONYMOUS_USER_ID), client_ip)
        append(history, "credential_refused", hashed("credential:" + authorization.strip()), "",
               {"reason": error.message[:120]})


def refusal(history: History, buckets: list) -> None:
    """A request refused by its limits: audited when a deployment-wide ceiling was the one reached."""
    ceilings = [bucket.name for bucket in buckets if bucket.name.startswith("global:")]
    if ceilings:
        record(history, "ceiling_reached", limits=ceilings)
