"""MODERATION=on: each new message checked with OpenAI's moderation endpoint before the reply is asked for."""

from __future__ import annotations

import orjson

from lib import audit, http_pool, log, masking, upstream
from lib.errors import ApiError, ContentFlagged, UpstreamBadResponse, UpstreamStatus
from lib.settings import ChatSettings, OpenAISettings
from lib.turns import Turn
from lib.usage import counted_refusal

MODEL = "omni-moderation-latest"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def screen(turn: Turn, cfg: ChatSettings, oai: OpenAISettings) -> None:
    """Nothing when moderation is off, for a regenerated turn (its question was checked when asked), or when the
    message passes; a flagged message is refused (422 content_flagged), its reservation released and counted as a
    refusal, audited with its categories, never its text. A failed check refuses the turn too (fails closed)."""
    if not cfg.moderation or turn.asks_again:
        return
    try:
        result = _moderate(masking.Masker(cfg.masked_kinds).mask(turn.message), oai)
    except ApiError:
        turn.reservation.settle(0, turn.history)
        raise
    if not result.get("flagged"):
        return
    categories = sorted(name for name, on in (result.get("categories") or {}).items() if on is True)
    turn.reservation.settle(0, turn.history)
    counted_refusal(turn.history, [])
    log.note(event="content_flagged", flaggedCategories=categories)
    audit.record(turn.history, "content_flagged", turn.conversation_id, categories=categories)
    raise ContentFlagged()


def _moderate(text: str, oai: OpenAISettings) -> dict:
    """The first result of POST /moderations for `text` (masked): {"flagged", "categories", ...}."""
    key = upstream.require_key(oai)
    url = (oai.base_url or DEFAULT_BASE_URL).rstrip("/") + "/moderations"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "application/json"}
    content = orjson.dumps({"model": MODEL, "input": text})
    answer = upstream.with_retry(lambda: _read(http_pool.post(url, headers, content, timeout=oai.timeout,
                                                              ca_file=oai.ca_file, proxy=oai.proxy)), model=MODEL)
    results = answer.get("results") if isinstance(answer, dict) else None
    if not results or not isinstance(results[0], dict) or not isinstance(results[0].get("flagged"), bool):
        raise UpstreamBadResponse("OpenAI's moderation answer held no result.")
    return results[0]


def _read(response) -> dict:
    """The JSON answer; OpenAI's error as errors.UpstreamStatus (lib/upstream.py maps it)."""
    try:
        content = response.read()
    finally:
        response.close()
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        body = content.decode("utf-8", "replace")
    if not 200 <= response.status_code < 300:
        raise UpstreamStatus(response, body)
    if not isinstance(body, dict):
        raise UpstreamBadResponse()
    return body
