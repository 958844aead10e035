"""Retention: history older than HISTORY_RETENTION_DAYS and audit lines older than AUDIT_RETENTION_DAYS go, run by
Vercel's cron (GET /api/cron/retention with CRON_SECRET) or locally (`python -m lib.retention`)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

from lib import audit, settings
from lib.access import Caller
from lib.errors import NotFound
from lib.history import History

SYSTEM_USER_ID = "00000000-0000-5000-8000-000000000001"  # who the trail says ran it (hashed like any id)


def system_history(origin: str) -> History:
    """The store's door for a run nobody signed in for: the cron, or the local command."""
    return History(Caller("token", SYSTEM_USER_ID, "retention"), origin)


def run(history: History, now: datetime | None = None) -> dict:
    """Delete what is past its time, once or twice at once alike: {"history": counts or None (off),
    "audit": lines deleted or None (off)}; the run is audited."""
    cfg = settings.controls()
    now = now or datetime.now(timezone.utc)
    result: dict = {"history": None, "audit": None}
    with history.store("retention_unavailable") as store:
        if cfg.history_retention_days:
            result["history"] = store.prune_history(_iso(now - timedelta(days=cfg.history_retention_days)))
        if cfg.audit_retention_days:
            result["audit"] = store.prune_audit(_iso(now - timedelta(days=cfg.audit_retention_days)))
    audit.record(history, "retention_run", **(result["history"] or {}), auditLines=result["audit"])
    return result


def from_cron(authorization: str | None, client_ip: str) -> dict:
    """The cron route: only `Authorization: Bearer <CRON_SECRET>` opens it (Vercel sends it); 404 otherwise, and
    404 while CRON_SECRET is unset."""
    secret = settings.controls().cron_secret
    if not secret or not authorization or not hmac.compare_digest(authorization.encode(),
                                                                   f"Bearer {secret}".encode()):
        raise NotFound()
    return run(system_history(client_ip))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def main() -> int:
    """The local command: reads .env like the dev server, runs once, prints what it deleted."""
    import json
    from pathlib import Path

    from dev.server import load_dotenv

    load_dotenv(Path(__file__).resolve().parent.parent / ".env")
    print(json.dumps(run(system_history("local"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
