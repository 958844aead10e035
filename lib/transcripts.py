"""A voice call's finished transcripts, kept in its conversation through the one history writer."""

from __future__ import annotations

from dataclasses import dataclass

from lib import context, limits, voice_calls
from lib.errors import ConversationNotFound, ValidationFailed, canonical_uuid
from lib.history import History
from lib.validate import Body, Field

MAX_ITEMS = 4
MAX_TEXT_CHARS = 2000  # two to three minutes of speech; the whole body stays under the 64 KiB request bound


@dataclass
class TranscriptItem:
    """One finished utterance: the user's (transcribed) or the assistant's (as far as it was heard)."""

    role: str  # "user" or "assistant"
    text: str
    status: str = "complete"  # or "interrupted"


@dataclass
class TranscriptRequest:
    """POST /api/realtime/transcript body."""

    callId: str
    items: list[TranscriptItem]
    conversationId: str | None = None


ITEM = Body(TranscriptItem, role=Field(str, required=True, choices=("user", "assistant")),
            text=Field(str, required=True, max_length=MAX_TEXT_CHARS),
            status=Field(str, choices=("complete", "interrupted")))
BODY = Body(TranscriptRequest, callId=Field(str, required=True), conversationId=Field(str, nullable=True),
            items=Field(list, required=True, min_length=1, max_length=MAX_ITEMS, items=ITEM))


def parse_request(data: dict) -> TranscriptRequest:
    """A valid TranscriptRequest, or 422 naming the first field at fault."""
    request = BODY.parse(data)
    if request.conversationId is not None:
        request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    for index, item in enumerate(request.items):
        if not item.text.strip():
            raise ValidationFailed(f"items.{index}.text", "must not be blank")
        if item.role == "user" and item.status != "complete":
            raise ValidationFailed(f"items.{index}.status", "only the assistant's speech can be interrupted")
    return request


def save(history: History, request: TranscriptRequest) -> dict:
    """Store the items in the call's conversation (or in another of the caller's own), each counted as a message:
    the call and the conversation are checked before anything is counted, so a refusal costs nothing."""
    call = voice_calls.owned(history, request.callId)
    conversation_id = request.conversationId or call["conversationId"]
    user_id = history.caller.user_id
    if conversation_id != call["conversationId"]:
        with history.store() as store:
            if store.conversation(user_id, conversation_id) is None:
                raise ConversationNotFound()
    limits.reserve(limits.message_buckets(history.spending, history.subject, len(request.items)), history)
    messages = [{"role": item.role, "content": item.text, "status": item.status, "source": "voice"}
                for item in request.items]
    with history.store("history_write_failed", conversation_id) as store:
        store.record_messages(user_id, conversation_id, context.title_for(request.items[0].text), messages)
    return {"conversationId": conversation_id, "saved": True}
