"""Voice calls relayed by our server: who started each one, so only they may hang it up or add its transcript."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lib import limits, log, realtime
from lib.deadline import Deadline
from lib.errors import CallNotFound, ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed
from lib.history import History
from lib.settings import OpenAISettings, RealtimeSettings

USERS_ONLY = "Voice calls and transcripts in Supabase are kept for signed-in users only."


@dataclass(frozen=True)
class VoiceCall:
    """A started call: OpenAI's id, the conversation its transcript goes to, the SDP answer for the browser."""

    id: str
    conversation_id: str
    answer: str


def start(history: History, offer: str, conversation_id: str | None, cfg: RealtimeSettings,
          oai: OpenAISettings, language: str | None = None, deadline: Deadline | None = None) -> VoiceCall:
    """Check the conversation is the caller's, count the session, start the call with OpenAI and record it as the
    caller's, in that order: a refused call costs nothing.

    When the caller's calls are not kept (history off, or not a signed-in user on Supabase) the call is not
    recorded (it can then be ended only by closing the connection); if the record cannot be written, the call is
    hung up again and the caller gets 503.
    """
    user_id = history.caller.user_id
    if conversation_id is not None:
        if history.owns_rows:
            with history.store() as store:
                if store.conversation(user_id, conversation_id) is None:
                    raise ConversationNotFound()
        elif history.cfg.backend == "supabase":
            raise ConversationNotFound()
    limits.enforce_voice(history)
    conversation_id = conversation_id or str(uuid.uuid4())
    answer, call_id = realtime.create_call(offer, cfg, oai, language, deadline)
    if history.owns_rows:
        try:
            with history.store("call_record_failed") as store:
                store.record_voice_call(user_id, call_id, conversation_id)
        except HistoryUnavailable:
            try:
                realtime.hang_up(call_id, oai, deadline)
            except Exception as hangup_error:  # noqa: BLE001 - best effort: the 503 below is the answer either way
                log.error(event="call_hangup_failed", error=type(hangup_error).__name__)
            raise
    return VoiceCall(call_id, conversation_id, answer)


def owned(history: History, call_id: str) -> dict:
    """The caller's record of this call, {"id", "conversationId", "createdAt", "endedAt"}; 404 when the call is not
    theirs (or unknown)."""
    if not realtime.is_call_id(call_id):
        raise ValidationFailed("callId", "must be the id from the X-Call-Id header of POST /api/realtime/call")
    if history.cfg.backend == "supabase" and not history.owns_rows:
        raise HistoryDisabled(USERS_ONLY)
    with history.store() as store:
        record = store.voice_call(history.caller.user_id, call_id)
    if record is None:
        raise CallNotFound()
    return record


def end(history: History, call_id: str, oai: OpenAISettings, deadline: Deadline | None = None) -> dict:
    """Hang up one of the caller's calls through OpenAI and note when, which closes its transcript soon after; if
    the note cannot be written the call is ended all the same (its transcript then closes with OpenAI's limit)."""
    owned(history, call_id)
    realtime.hang_up(call_id, oai, deadline)
    try:
        with history.store("call_end_record_failed") as store:
            store.end_voice_call(history.caller.user_id, call_id)
    except HistoryUnavailable:
        pass  # logged by the store guard
    return {"callId": call_id, "ended": True}
