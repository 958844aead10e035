"""Admins: who is one (the server's settings only), the one door to admin routes (404 for everyone else, as for a
route that does not exist), and the audit trail as admins read, filter and download it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from lib import audit, settings
from lib.access import authenticate
from lib.errors import ApiError, NotFound, ValidationFailed, canonical_uuid
from lib.history import History

MAX_EVENTS = 1000
AUDIT_COLUMNS = ("id", "at", "kind", "actor", "target", "detail")


def door(request) -> History:
    """The admin's history for a request to an admin route (a public handler: no credential is asked first), or
    404 not_found for anyone else, whatever went wrong, so an admin route looks like no route at all."""
    try:
        caller = authenticate(request.headers.get("Authorization"), settings.access())
    except ApiError:
        raise NotFound() from None
    if not caller.admin:
        raise NotFound()
    return History(caller, request.client_ip)


def day_from(query: dict[str, str], name: str, default: date) -> date:
    """A YYYY-MM-DD query parameter (UTC day), or the default; 422 naming it otherwise."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(name, "must be a day written YYYY-MM-DD") from None


def trail(history: History, query: dict[str, str], today: date | None = None) -> dict:
    """The audit lines from `from` to `to` (days, both included; default the last 30), of `kind` and by `userId`
    (hashed here) if given, newest first (at most 1000); reading it is itself audited."""
    today = today or date.today()
    first = day_from(query, "from", today - timedelta(days=30))
    last = day_from(query, "to", today)
    kind = query.get("kind") or None
    if kind is not None and kind not in audit.KINDS:
        raise ValidationFailed("kind", "must be one of " + ", ".join(audit.KINDS))
    actor = audit.hashed(canonical_uuid(query["userId"], "userId")) if query.get("userId") else None
    events = history.run(lambda store: store.audit_events(first.isoformat(), (last + timedelta(days=1)).isoformat(),
                                                          kind, MAX_EVENTS, actor))
    audit.record(history, "admin_read", page="audit")
    return {"from": first.isoformat(), "to": last.isoformat(), "kind": kind, "actor": actor,
            "kinds": list(audit.KINDS), "events": events}


def csv_of(rows: list[dict], columns: tuple[str, ...]) -> bytes:
    """Rows as CSV (UTF-8 with a BOM, so spreadsheets read accents); a cell that a spreadsheet would run as a
    formula is quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return ("\ufeff" + out.getvalue()).encode()


def _cell(value) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else (
        "" if value is None else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
