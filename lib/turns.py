"""One chat turn's history: its conversation, the context it is sent with, and storing it once it is done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lib import history, limits, log, rooms, stores
from lib.access import Caller
from lib.errors import ConversationNotFound, HistoryDisabled, HistoryUnavailable
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
    author: Caller | None = None  # who wrote the message, when the conversation is a room (user_id: its owner)
    wants_reply: bool = True  # False: a room message not addressed to the assistant, stored without a reply

    def finish(self, reply: str, usage: dict | None, status: str = "complete") -> dict:
        """Count the reply's tokens against the daily budget, then save the turn (see save)."""
        if usage and self.limits:
            limits.record_tokens(self.subject, usage.get("total_tokens") or 0, self.limits, self.history_settings)
        return self.save(reply, status)

    def save(self, reply: str | None, status: str = "complete") -> dict:
        """Store the message and its reply; the response's `saved` (and a `warning` when not)."""
        if self.store is not None and self.author is not None:
            return self._save_in_room(reply, status)
        warning = None
        if self.store is not None:
            try:
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

    def _save_in_room(self, reply: str | None, status: str) -> dict:
        """The room's writer checks, in the same transaction, that the author may still write: one removed while
        the reply was made gets 404 conversation_not_found, and nothing of the turn is stored."""
        try:
            self.store.record_room_turn(self.user_id, self.conversation_id, self.author.user_id, self.author.name,
                                        self.message, reply, status)
            return {"saved": True}
        except stores.ConversationNotFound:
            log.note(event="room_turn_refused")
            raise ConversationNotFound() from None
        except stores.StoreUnavailable as exc:
            log.error(event="history_write_failed", conversationId=self.conversation_id, error=type(exc).__name__)
            if reply is None:  # a message alone has nothing else to give: it failed
                raise HistoryUnavailable() from None
            self.unsaved = HistoryUnavailable
        warning = HistoryUnavailable()
        return {"saved": False, "warning": {"code": warning.code, "message": warning.message}}

    def post_only(self) -> dict:
        """Store a room message the assistant was not asked to answer: `{"conversationId", "saved", "message":
        null}`."""
        return {"conversationId": self.conversation_id, "message": None, **self.save(None)}


def begin(caller: Caller, client_ip: str, message: str, conversation_id: str | None, cfg: HistorySettings,
          spending: Limits, ask_assistant: bool = False) -> Turn:
    """A counted turn with its conversation's recent context; 429 over a limit, 404 for a conversation the caller
    neither owns nor is a member of, 503 when the store cannot say whose it is (fails closed), all before any
    OpenAI call. In a room the assistant answers when addressed (@assistant, @IA, or ask_assistant) or when the
    room is set to answer every message."""
    subject = limits.subject_for(caller, client_ip)
    limits.enforce(subject, limits.chat_buckets(spending), cfg)
    turn = Turn(caller.user_id, str(conversation_id or uuid.uuid4()), message, subject, spending, cfg)
    if cfg.backend == "supabase" and caller.kind != "user" and conversation_id is None:
        # Supabase history rows belong to users in auth.users: the token holder and anonymous callers own none
        # (a room they were invited to is its owner's: membership decides, below)
        turn.unsaved = HistoryForUsersOnly
        return turn
    try:
        turn.store = stores.open_store(cfg)
        if turn.store is None:
            turn.unsaved = HistoryDisabled
            return turn
        if conversation_id is not None:
            access = rooms.enter(turn.store, caller, turn.conversation_id)
            if access.is_room:
                turn.user_id, turn.author = access.owner_id, caller
                turn.wants_reply = (ask_assistant or access.assistant_replies == "all"
                                    or rooms.addresses_assistant(message))
                if not turn.wants_reply:
                    return turn
            recent = turn.store.messages(turn.user_id, turn.conversation_id, newest=history.CONTEXT_MESSAGES)
            if access.is_room:
                recent = rooms.in_context(recent)
            turn.context = history.fit_to_budget(recent, cfg.max_chars)
    except stores.StoreUnavailable as exc:
        log.error(event="history_read_failed", error=type(exc).__name__)
        if conversation_id is not None:  # whose conversation it is, and what it said, are unknown: refuse
            raise HistoryUnavailable() from None
        turn.store, turn.unsaved = None, HistoryUnavailable
    return turn
