"""Voice calls relayed by our server: who started each one, so only they may hang it up or add its transcript."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lib import log, realtime, stores
from lib.access import Caller
from lib.errors import CallNotFound, ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed
from lib.settings import HistorySettings, OpenAISettings, RealtimeSettings


USERS_ONLY = "Voice calls and transcripts in Supabase are kept for signed-in users only."


@dataclass(frozen=True)
class Call:
    """A started call: OpenAI's id, the conversation its transcript goes to, the SDP answer for the browser."""

    id: str
    conversation_id: str
    answer: str


def start(caller: Caller, offer: str, conversation_id: str | None, cfg: RealtimeSettings, oai: OpenAISettings,
          history: HistorySettings) -> Call:
    """Check the conversation is the caller's, start the call with OpenAI, and record it as the caller's.

    With history off the call is not recorded (it can then be ended only by closing the connection); if the
    record cannot be written, the call is hung up again and the caller gets 503.
    """
    user_id, store = caller.user_id, _store(history, caller)
    if conversation_id is not None and (store is None and history.backend == "supabase" or store is not None
                                        and store.conversation(user_id, conversation_id) is None):
        raise ConversationNotFound()
    conversation_id = conversation_id or str(uuid.uuid4())
    answer, call_id = realtime.create_call(offer, cfg, oai)
    if store is not None:
        try:
            store.record_call(user_id, call_id, conversation_id)
        except stores.StoreUnavailable as exc:
            log.error(event="call_record_failed", error=type(exc).__name__)
            try:
                realtime.hang_up(call_id, oai)
            except Exception as hangup_error:  # noqa: BLE001 - best effort: the 503 below is the answer either way
                log.error(event="call_hangup_failed", error=type(hangup_error).__name__)
            raise HistoryUnavailable() from None
    return Call(call_id, conversation_id, answer)


def owned(caller: Caller, call_id: str, history: HistorySettings) -> tuple[stores.Store, dict]:
    """The store and the caller's record of this call; 404 when the call is not theirs (or unknown)."""
    if not realtime.is_call_id(call_id):
        raise ValidationFailed("callId", "must be the id from the X-Call-Id header of POST /api/realtime/call")
    store = _store(history, caller)
    if store is None:
        raise HistoryDisabled(USERS_ONLY if history.backend == "supabase" else None)
    try:
        record = store.call(caller.user_id, call_id)
    except stores.StoreUnavailable as exc:
        log.error(event="history_unavailable", error=type(exc).__name__)
        raise HistoryUnavailable() from None
    if record is None:
        raise CallNotFound()
    return store, record


def end(caller: Caller, call_id: str, oai: OpenAISettings, history: HistorySettings) -> dict:
    """Hang up one of the caller's calls through OpenAI."""
    owned(caller, call_id, history)
    realtime.hang_up(call_id, oai)
    return {"callId": call_id, "ended": True}


def _store(history: HistorySettings, caller: Caller) -> stores.Store | None:
    if history.backend == "supabase" and caller.kind != "user":
        return None  # Supabase history rows belong to users in auth.users: token holders and anonymous callers have none
    try:
        return stores.open_store(history)
    except stores.StoreUnavailable as exc:
        log.error(event="history_unavailable", error=type(exc).__name__)
        raise HistoryUnavailable() from None
