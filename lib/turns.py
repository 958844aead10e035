"""One chat turn's history: its conversation, the context it is sent with, and storing it once it is done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lib import history, limits, log, stores
from lib.access import Caller
from lib.errors import ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed
from lib.settings import HistorySettings, Limits


DELETED_MEANWHILE = "The conversation was deleted while this reply was written; the turn was not saved."


class HistoryForUsersOnly(HistoryDisabled):
    default_message = "Chat history in Supabase is kept for signed-in users only; this turn was not saved."


@dataclass
class Turn:
    """Where a turn goes; `store` is None when it cannot be saved, and `unsaved` says why."""

    user_id: str
    conversation_id: str
    message: str
    subject: str = ""
    limits: Limits | None = None
    history_settings: HistorySettings | None = None
    context: list[dict] = field(default_factory=list)
    store: stores.Store | None = None
    unsaved: type[HistoryDisabled] | type[HistoryUnavailable] | None = None
    replaces: int | None = None  # a regenerated turn: the id of the reply it takes the place of

    def finish(self, reply: str, usage: dict | None, status: str = "complete") -> dict:
        """Count the reply's tokens against the daily budget, then save the turn (see save)."""
        if usage and self.limits:
            limits.record_tokens(self.subject, usage.get("total_tokens") or 0, self.limits, self.history_settings)
        return self.save(reply, status)

    def save(self, reply: str, status: str = "complete") -> dict:
        """Store the message and its reply; the response's `saved` (and a `warning` when not)."""
        warning = None
        if self.store is not None:
            try:
                if self.replaces is not None:
                    self.store.replace_reply(self.user_id, self.conversation_id, self.replaces, reply, status)
                else:
                    self.store.record_turn(self.user_id, self.conversation_id, history.title_for(self.message),
                                           self.message, reply, status)
                return {"saved": True}
            except stores.ConversationNotFound:
                log.info(event="history_write_refused", conversationId=self.conversation_id)
                warning = HistoryUnavailable(DELETED_MEANWHILE)
            except stores.StoreUnavailable as exc:
                log.error(event="history_write_failed", conversationId=self.conversation_id,
                          error=type(exc).__name__)
                self.unsaved = HistoryUnavailable
        warning = warning or (self.unsaved or HistoryUnavailable)()
        return {"saved": False, "warning": {"code": warning.code, "message": warning.message}}


def begin(caller: Caller, client_ip: str, message: str, conversation_id: str | None, cfg: HistorySettings,
          spending: Limits) -> Turn:
    """A counted turn with its conversation's recent context; 429 over a limit, 404 for a conversation not the
    caller's, 503 when the store cannot say whose it is (fails closed), all before any OpenAI call."""
    subject = limits.subject_for(caller, client_ip)
    limits.enforce(subject, limits.chat_buckets(spending), cfg)
    turn = Turn(caller.user_id, str(conversation_id or uuid.uuid4()), message, subject, spending, cfg)
    user_id = caller.user_id
    if cfg.backend == "supabase" and caller.kind != "user":
        # Supabase history rows belong to users in auth.users: the token holder and anonymous callers have none
        if conversation_id is not None:
            raise ConversationNotFound()
        turn.unsaved = HistoryForUsersOnly
        return turn
    try:
        turn.store = stores.open_store(cfg)
        if turn.store is None:
            turn.unsaved = HistoryDisabled
            return turn
        if conversation_id is not None:
            if turn.store.conversation(user_id, turn.conversation_id) is None:
                raise ConversationNotFound()
            recent = turn.store.messages(user_id, turn.conversation_id, newest=history.CONTEXT_MESSAGES)
            turn.context = history.fit_to_budget(recent, cfg.max_chars)
    except stores.StoreUnavailable as exc:
        log.error(event="history_read_failed", error=type(exc).__name__)
        if conversation_id is not None:  # whose conversation it is, and what it said, are unknown: refuse
            raise HistoryUnavailable() from None
        turn.store, turn.unsaved = None, HistoryUnavailable
    return turn


def begin_regenerate(caller: Caller, client_ip: str, conversation_id: str, cfg: HistorySettings,
                     spending: Limits) -> Turn:
    """A counted turn that asks again the conversation's last question and will replace its last reply; 404
    for a conversation not the caller's, 422 when it has no reply to regenerate, 503 without a store."""
    subject = limits.subject_for(caller, client_ip)
    limits.enforce(subject, limits.chat_buckets(spending), cfg)
    if cfg.backend == "supabase" and caller.kind != "user":
        raise ConversationNotFound()  # only signed-in users keep history there (see begin)
    try:
        store = stores.open_store(cfg)
        if store is None:
            raise HistoryDisabled()
        if store.conversation(caller.user_id, conversation_id) is None:
            raise ConversationNotFound()
        recent = store.messages(caller.user_id, conversation_id, newest=history.CONTEXT_MESSAGES + 2)
    except stores.StoreUnavailable as exc:
        log.error(event="history_read_failed", error=type(exc).__name__)
        raise HistoryUnavailable() from None
    if len(recent) < 2 or recent[-1]["role"] != "assistant" or recent[-2]["role"] != "user":
        raise ValidationFailed("regenerate", "this conversation has no reply to regenerate")
    question, reply = recent[-2], recent[-1]
    turn = Turn(caller.user_id, conversation_id, question["content"], subject, spending, cfg, store=store,
                replaces=reply["id"])
    turn.context = history.fit_to_budget(recent[:-2], cfg.max_chars)
    return turn
