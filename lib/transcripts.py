"""A voice call's transcript as the caller's device reports it, kept in its conversation by the one history writer:
the caller's words as theirs, what the device heard the assistant say only as the caller's quoted report."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime

from lib import context, limits, voice_calls
from lib.errors import ConversationNotFound, RateLimited, ValidationFailed, canonical_uuid
from lib.history import History
from lib.stores import Bucket
from lib.validate import Body, Field, storable

MAX_ITEMS = 4
MAX_TEXT_CHARS = 2000  # two to three minutes of speech; the whole body stays under the 64 KiB request bound
LANGUAGES = ("fr", "en")
CALL_MAX_MINUTES = 60  # OpenAI ends every Realtime session after 60 minutes
GRACE_MINUTES = 5  # after that, the last utterances may still arrive
ENDED_GRACE_SECONDS = 120  # after a hang-up through our server: the utterances still on their way
CHARS_PER_MINUTE = 1500  # both sides of a call, per started minute since it began: brisk speech is ~1,000
CALL_CHARS = "voice:chars"  # the per-call counter of transcript characters
NOTES = {
    "fr": ("Transcription rapportée par mon appareil de ce que l'assistant vocal a dit (non vérifiée) :",
           "Transcription rapportée par mon appareil de ce que l'assistant vocal a dit avant d'être interrompu "
           "(non vérifiée) :"),
    "en": ("Transcript reported by my device of what the voice assistant said (not verified):",
           "Transcript reported by my device of what the voice assistant said before it was interrupted "
           "(not verified):"),
}


@dataclass
class TranscriptItem:
    """One finished utterance: the caller's (transcribed), or the assistant's as the caller's device heard it."""

    role: str  # "user" or "assistant": whose speech the device reports
    text: str
    status: str = "complete"  # or "interrupted"


@dataclass
class TranscriptRequest:
    """POST /api/realtime/transcript body."""

    callId: str
    items: list[TranscriptItem]
    conversationId: str | None = None
    language: str = "fr"


ITEM = Body(TranscriptItem, role=Field(str, required=True, choices=("user", "assistant")),
            text=Field(str, required=True, max_length=MAX_TEXT_CHARS),
            status=Field(str, choices=("complete", "interrupted")))
BODY = Body(TranscriptRequest, callId=Field(str, required=True), conversationId=Field(str, nullable=True),
            items=Field(list, required=True, min_length=1, max_length=MAX_ITEMS, items=ITEM),
            language=Field(str, choices=LANGUAGES))


def parse_request(data: dict) -> TranscriptRequest:
    """A valid TranscriptRequest, or 422 naming the first field at fault."""
    request = BODY.parse(data)
    storable(request.callId, "callId")
    if request.conversationId is not None:
        request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    for index, item in enumerate(request.items):
        storable(item.text, f"items.{index}.text")
        if not item.text.strip():
            raise ValidationFailed(f"items.{index}.text", "must not be blank")
        if item.role == "user" and item.status != "complete":
            raise ValidationFailed(f"items.{index}.status", "only the assistant's speech can be interrupted")
    return request


def device_note(text: str, status: str = "complete", language: str = "fr") -> str:
    """The assistant's speech as the caller's device reported it: the caller's own note, every line quoted."""
    heading = NOTES[language][status == "interrupted"]
    return heading + "\n" + "\n".join("> " + line for line in text.strip().splitlines())


def stored(item: TranscriptItem, language: str) -> dict:
    """The history row for one item: always the caller's (role user), never the assistant's."""
    content = item.text if item.role == "user" else device_note(item.text, item.status, language)
    return {"role": "user", "content": content, "status": "complete", "source": "voice"}


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def call_window(call: dict, now: float) -> int:
    """The started minutes the call has lasted (at least one, at most OpenAI's 60); 422 once it is over and past its
    grace: ENDED_GRACE_SECONDS after a hang-up through us, else GRACE_MINUTES after OpenAI's session limit."""
    started = _epoch(call["createdAt"])
    ended = _epoch(call["endedAt"]) if call.get("endedAt") else None
    if ended is not None and now > ended + ENDED_GRACE_SECONDS:
        raise ValidationFailed("callId", f"the call was hung up: transcripts are accepted up to "
                                         f"{ENDED_GRACE_SECONDS} seconds after")
    if now > started + (CALL_MAX_MINUTES + GRACE_MINUTES) * 60:
        raise ValidationFailed("callId", f"the call is over: transcripts are accepted up to {GRACE_MINUTES} "
                                         f"minutes after OpenAI's {CALL_MAX_MINUTES}-minute session limit")
    lasted = (min(now, ended) if ended is not None else now) - started
    return max(1, min(CALL_MAX_MINUTES, math.ceil(lasted / 60)))


def save(history: History, request: TranscriptRequest) -> dict:
    """Store the items in the call's conversation (or in another of the caller's own), each counted as a message
    and its characters against the call's bound: the call, its window and the conversation are checked before
    anything is counted, and counting is all or nothing, so a refusal costs nothing. Into a room only the caller's
    own words go."""
    call = voice_calls.owned(history, request.callId)
    minutes = call_window(call, time.time())
    conversation_id = request.conversationId or call["conversationId"]
    user_id = history.caller.user_id
    with history.store() as store:
        access = store.room_access(user_id, conversation_id)
        if conversation_id != call["conversationId"] and (access is None or access.owner_id != user_id):
            raise ConversationNotFound()
    in_room = access is not None and access.is_room
    items = [item for item in request.items if item.role == "user" or not in_room]
    if items:
        _count(history, request.callId, items, minutes)
        messages = [stored(item, request.language) for item in items]
        with history.store("history_write_failed", conversation_id) as store:
            store.record_messages(user_id, conversation_id, context.title_for(items[0].text), messages)
    return {"conversationId": conversation_id, "saved": True, "kept": len(items)}


def _count(history: History, call_id: str, items: list[TranscriptItem], minutes: int) -> None:
    """Count the messages against the daily limits and the characters against the call's bound, in one step."""
    chars = sum(len(item.text) for item in items)
    allowed = CHARS_PER_MINUTE * minutes
    over = ValidationFailed("items", f"a call's transcript holds at most {CHARS_PER_MINUTE} characters per minute "
                                     f"of the call ({allowed} so far)")
    if chars > allowed:
        raise over
    subject = hashlib.sha256(f"call:{call_id}".encode()).hexdigest()[:32]
    bound = Bucket(CALL_CHARS, limits.DAY, allowed - chars + 1, chars, subject)  # admitted: used + chars <= allowed
    try:
        limits.reserve([*limits.message_buckets(history.spending, history.subject, len(items)), bound], history)
    except RateLimited as refused:
        if refused.extra.get("limit") == CALL_CHARS:
            raise over from None
        raise
