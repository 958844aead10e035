"""A voice call's finished transcripts, kept in its conversation through the one history writer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from lib import calls, history, limits, log, stores
from lib.access import Caller
from lib.errors import ConversationNotFound, HistoryUnavailable, ValidationFailed, canonical_uuid, validation_failed
from lib.settings import HistorySettings, Limits

MAX_ITEMS = 4
MAX_TEXT_CHARS = 2000  # two to three minutes of speech; the whole body stays under the 64 KiB request bound


class TranscriptItem(BaseModel):
    """One finished utterance: the user's (transcribed) or the assistant's (as far as it was heard)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    text: StrictStr = Field(max_length=MAX_TEXT_CHARS)
    status: Literal["complete", "interrupted"] = "complete"


class TranscriptRequest(BaseModel):
    """POST /api/realtime/transcript body."""

    model_config = ConfigDict(extra="forbid")

    callId: StrictStr
    conversationId: StrictStr | None = None
    items: list[TranscriptItem] = Field(min_length=1, max_length=MAX_ITEMS)


def parse_request(data: dict) -> TranscriptRequest:
    """A valid TranscriptRequest, or 422 naming the first field at fault."""
    try:
        request = TranscriptRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
    if request.conversationId is not None:
        request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    for index, item in enumerate(request.items):
        if not item.text.strip():
            raise ValidationFailed(f"items.{index}.text", "must not be blank")
        if item.role == "user" and item.status != "complete":
            raise ValidationFailed(f"items.{index}.status", "only the assistant's speech can be interrupted")
    return request


def save(caller: Caller, client_ip: str, request: TranscriptRequest, cfg: HistorySettings, spending: Limits) -> dict:
    """Store the items in the call's conversation (or the caller's given one), each counted as a message."""
    subject = limits.subject_for(caller, client_ip)
    limits.reserve(limits.message_buckets(spending, subject, len(request.items)), cfg)
    store, call = calls.owned(caller, request.callId, cfg)
    conversation_id = request.conversationId or call["conversationId"]
    messages = [{"role": item.role, "content": item.text, "status": item.status, "source": "voice"}
                for item in request.items]
    try:
        store.record_messages(caller.user_id, conversation_id, history.title_for(request.items[0].text), messages)
    except stores.ConversationNotFound:
        raise ConversationNotFound() from None
    except stores.StoreUnavailable as exc:
        log.error(event="history_write_failed", conversationHash=log.conversation_hash(conversation_id),
                  error=type(exc).__name__)
        raise HistoryUnavailable() from None
    return {"conversationId": conversation_id, "saved": True}
