"""Usage and its cost in euros: counted where turns and limits are recorded (one row per person, model and UTC day,
in the store), and the admins' report: today, this month, a chosen range, per person and in total."""

from __future__ import annotations

from datetime import date, datetime, timezone

from lib import audit, settings
from lib.admin import day_from
from lib.errors import HistoryUnavailable, ValidationFailed
from lib.history import History

COUNTS = ("messages", "input_tokens", "output_tokens", "voice_sessions", "voice_seconds", "refusals")
COLUMNS = ("name", "userId", *COUNTS, "costEur")


def today() -> date:
    """The UTC day usage is counted in."""
    return datetime.now(timezone.utc).date()


def _add(history: History, **counts: int) -> None:
    """Add to the caller's row for today; a store that fails is logged (usage_unavailable), the request goes on."""
    caller = history.caller
    try:
        with history.guard("usage_unavailable"):
            store = history.store_or_none()
            if store is not None:
                store.add_usage(today().isoformat(), caller.user_id, caller.name, settings.chat().model, **counts)
    except HistoryUnavailable:
        pass


def counted_turn(history: History, reported: dict | None) -> None:
    """A finished turn: one message and the tokens OpenAI reported (output tokens include reasoning tokens)."""
    reported = reported or {}
    _add(history, messages=1, input_tokens=_count(reported.get("prompt_tokens")),
         output_tokens=_count(reported.get("completion_tokens")))


def counted_message(history: History) -> None:
    """A room message the assistant was not asked to answer: a message, no tokens."""
    _add(history, messages=1)


def counted_voice_session(history: History) -> None:
    """A voice session started (a call, or a key minted)."""
    _add(history, voice_sessions=1)


def counted_refusal(history: History, buckets: list) -> None:
    """A request refused by a limit: counted, and audited when a deployment-wide ceiling was reached."""
    _add(history, refusals=1)
    audit.refusal(history, buckets)


def _count(value) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def report(history: History, query: dict[str, str], on: date | None = None) -> dict:
    """Today, this month and the chosen range (`from`, `to`; default this month), each per person and in total
    with its cost in euros; how near each deployment-wide ceiling is today; reading it is audited."""
    on = on or today()
    month = on.replace(day=1)
    first, last = day_from(query, "from", month), day_from(query, "to", on)
    if last < first:
        raise ValidationFailed("to", "must not be before from")
    start = min(first, month)
    rows = history.run(lambda store: store.usage(start.isoformat(), max(last, on).isoformat()))
    audit.record(history, "admin_read", page="usage")
    cfg = settings.controls()
    pick = lambda low, high: [r for r in rows if low.isoformat() <= str(r["day"]) <= high.isoformat()]  # noqa: E731
    today_table = table(pick(on, on), cfg)
    return {"today": today_table, "month": table(pick(month, on), cfg),
            "range": {"from": first.isoformat(), "to": last.isoformat(), **table(pick(first, last), cfg)},
            "ceilings": ceilings(today_table["total"]), "eurPerUsd": cfg.eur_per_usd,
            "pricedModels": sorted(cfg.prices)}


def table(rows: list[dict], cfg: settings.Controls) -> dict:
    """Rows summed per person, and the total; costEur is None when a model used has no price."""
    people: dict[str, dict] = {}
    for row in rows:
        person = people.setdefault(row["user_id"], {"name": row["name"], "userId": row["user_id"],
                                                    **{c: 0 for c in COUNTS}, "costEur": 0.0})
        person["name"] = row["name"] or person["name"]
        for column in COUNTS:
            person[column] += row[column]
        cost = cost_eur(row, cfg)
        person["costEur"] = None if cost is None or person["costEur"] is None else person["costEur"] + cost
    listed = sorted(people.values(), key=lambda p: (-(p["costEur"] or 0), p["name"]))
    total = {"name": "Total", "userId": None, **{c: sum(p[c] for p in listed) for c in COUNTS},
             "costEur": None if any(p["costEur"] is None for p in listed) else sum(p["costEur"] for p in listed)}
    for entry in (*listed, total):
        entry["costEur"] = None if entry["costEur"] is None else round(entry["costEur"], 4)
    return {"people": listed, "total": total}


def cost_eur(row: dict, cfg: settings.Controls) -> float | None:
    """USD per million tokens (USAGE_PRICES_USD) and per voice minute, times USAGE_EUR_PER_USD; None unpriced."""
    tokens = row["input_tokens"] or row["output_tokens"]
    price = cfg.prices.get(row["model"])
    if tokens and price is None:
        return None
    usd = (row["input_tokens"] * price[0] + row["output_tokens"] * price[1]) / 1_000_000 if price else 0.0
    usd += row["voice_seconds"] / 60 * cfg.voice_usd_per_minute
    return usd * cfg.eur_per_usd


def ceilings(total: dict) -> list[dict]:
    """Today's use of each deployment-wide ceiling ("max" 0: off), from the counted usage."""
    limits = settings.limits()
    return [{"limit": "global:chat:day", "used": total["messages"], "max": limits.global_messages_per_day},
            {"limit": "global:tokens:day", "used": total["input_tokens"] + total["output_tokens"],
             "max": limits.global_tokens_per_day},
            {"limit": "global:voice:day", "used": total["voice_sessions"], "max": limits.global_voice_sessions_per_day}]
