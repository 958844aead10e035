"""MODERATION=on: each new message checked with OpenAI's moderation endpoint before the reply is asked for."""

from __future__ import annotations

from lib import audit, log, masking, openai_http
from lib.deadline import Deadline
from lib.errors import ApiError, ContentFlagged, UpstreamBadResponse
from lib.settings import ChatSettings, OpenAISettings
from lib.turns import Turn
from lib.usage import counted_refusal

MODEL = "omni-moderation-latest"


def screen(turn: Turn, cfg: ChatSettings, oai: OpenAISettings, deadline: Deadline | None = None) -> None:
    """Nothing when moderation is off, for a regenerated turn (its question was checked when asked), or when the
    message passes; a flagged message is refused (422 content_flagged), its reservation released and counted as a
    refusal, audited with its categories, never its text. A failed check refuses the turn too (fails closed)."""
    if not cfg.moderation or turn.asks_again:
        return
    try:
        result = _moderate(masking.Masker(cfg.masked_kinds).mask(turn.message), oai, deadline)
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


def _moderate(text: str, oai: OpenAISettings, deadline: Deadline | None = None) -> dict:
    """The first result of POST /moderations for `text` (masked): {"flagged", "categories", ...}."""
    answer = openai_http.post_json(oai, "/moderations", {"model": MODEL, "input": text}, function="groupchat/chat",
                                   deadline=deadline, model=MODEL)
    results = answer.get("results")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict) or not isinstance(results[0].get("flagged"), bool):
        raise UpstreamBadResponse("OpenAI's moderation answer held no result.")
    return results[0]
