"""One chat turn's history: its conversation, the context it is sent with, and storing it once it is done."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from lib import history, limits, log, stores
from lib.access import Caller
from lib.errors import ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed
from lib.limits import Reservation
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
    history_settings: HistorySettings | None = None
    context: list[dict] = field(default_factory=list)
    store: stores.Store | None = None
    unsaved: type[HistoryDisabled] | type[HistoryUnavailable] | None = None
    prompt_tokens: int = 0
    reservation: Reservation = field(default_factory=Reservation)
    replaces: int | None = None  # a regenerated turn: the id of the reply it takes the place of

    def finish(self, reply: str, usage: dict | None, status: str = "complete") -> dict:
        """Settle the turn's token reservation to what it cost (see charge), then save the turn (see save)."""
        self.charge(reply, usage)
        return self.save(reply, status)

    def charge(self, reply: str, usage: dict | None) -> None:
        """Settle the reservation, once: to OpenAI's reported total, or, with no report (the caller hung up, the
        stream broke), to an estimate of the prompt and of the reply as far as it got; never zero."""
        total = (usage or {}).get("total_tokens")
        if not isinstance(total, int) or total <= 0:
            total = self.prompt_tokens + limits.estimate_tokens(reply)
        self.reservation.settle(total, self.history_settings)

    @contextmanager
    def charged_if_it_fails(self):
        """If what follows fails before the turn is finished, charge what its prompt may have cost."""
        try:
            yield self
        except BaseException:
            self.charge("", None)
            raise

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
                log.info(event="history_write_refused",
                         conversationHash=log.conversation_hash(self.conversation_id))
                warning = HistoryUnavailable(DELETED_MEANWHILE)
            except stores.StoreUnavailable as exc:
                log.error(event="history_write_failed", conversationHash=log.conversation_hash(self.conversation_id),
                          error=type(exc).__name__)
                self.unsaved = HistoryUnavailable
        warning = warning or (self.unsaved or HistoryUnavailable)()
        return {"saved": False, "warning": {"code": warning.code, "message": warning.message}}


def begin(caller: Caller, client_ip: str, message: str, conversation_id: str | None, cfg: HistorySettings,
          spending: Limits, system_prompt: str | None = None, max_output_tokens: int = 0) -> Turn:
    """A turn with its conversation's recent context, counted against every limit with its token reservation
    (the prompt's estimate plus `max_output_tokens`): 404 for a conversation not the caller's, 429 over a limit,
    503 when the store cannot say whose it is (fails closed), all before any OpenAI call and none counted."""
    subject = limits.subject_for(caller, client_ip)
    turn = Turn(caller.user_id, str(conversation_id or uuid.uuid4()), message, subject, cfg)
    _load_context(turn, caller, conversation_id, cfg)
    sent = ([system_prompt] if system_prompt else []) + [m["content"] for m in turn.context] + [message]
    _reserve(turn, spending, cfg, system_prompt, max_output_tokens)
    return turn


def begin_regenerate(caller: Caller, client_ip: str, conversation_id: str, cfg: HistorySettings,
                     spending: Limits, system_prompt: str | None = None, max_output_tokens: int = 0) -> Turn:
    """A turn that asks again the conversation's last question and will replace its last reply, reserved like
    any turn (see begin): 404 for a conversation not the caller's, 422 when it has no reply to regenerate, 503
    without a store, 429 over a limit."""
    subject = limits.subject_for(caller, client_ip)
    if cfg.backend == "supabase" and caller.kind != "user":
        raise ConversationNotFound()  # only signed-in users keep history there (see begin)
    try:
        store = stores.open_store(cfg) if caller.keeps_history else None
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
    turn = Turn(caller.user_id, conversation_id, question["content"], subject, cfg, store=store,
                replaces=reply["id"])
    turn.context = history.fit_to_budget(recent[:-2], cfg.max_chars)
    _reserve(turn, spending, cfg, system_prompt, max_output_tokens)
    return turn


def _reserve(turn: Turn, spending: Limits, cfg: HistorySettings, system_prompt: str | None,
             max_output_tokens: int) -> None:
    """Estimate the prompt's tokens and reserve them, with `max_output_tokens`, against every chat limit."""
    sent = ([system_prompt] if system_prompt else []) + [m["content"] for m in turn.context] + [turn.message]
    turn.prompt_tokens = limits.prompt_estimate(sent)
    turn.reservation = limits.reserve(
        limits.chat_buckets(spending, turn.subject, turn.prompt_tokens + max_output_tokens), cfg)


def _load_context(turn: Turn, caller: Caller, conversation_id: str | None, cfg: HistorySettings) -> None:
    """Open the store and read the conversation's recent messages; 404 for a conversation not the caller's."""
    user_id = caller.user_id
    if cfg.backend == "supabase" and caller.kind != "user":
        # Supabase history rows belong to users in auth.users: the token holder and anonymous callers have none
        if conversation_id is not None:
            raise ConversationNotFound()
        turn.unsaved = HistoryForUsersOnly
        return
    try:
        turn.store = stores.open_store(cfg) if caller.keeps_history else None
        if turn.store is None:
            turn.unsaved = HistoryDisabled
            return
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


def require_history(caller: Caller) -> None:
    """503 history_disabled for a caller whose history is never stored (anonymous on Vercel)."""
    if not caller.keeps_history:
        raise HistoryDisabled("Chat history is off for anonymous callers on this deployment: sign in to keep it.")
