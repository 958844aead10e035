"""One chat turn's history: its conversation, the context it is sent with, and storing it once it is done."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from lib import history, limits, log, rooms, stores
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
    author: Caller | None = None  # who wrote the message, when the conversation is a room (user_id: its owner)
    wants_reply: bool = True  # False: a room message not addressed to the assistant, stored without a reply
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

    def save(self, reply: str | None, status: str = "complete") -> dict:
        """Store the message and its reply; the response's `saved` (and a `warning` when not)."""
        if self.store is not None and self.author is not None:
            return self._save_in_room(reply, status)
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
            log.error(event="history_write_failed", conversationHash=log.conversation_hash(self.conversation_id),
                      error=type(exc).__name__)
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
          spending: Limits, system_prompt: str | None = None, max_output_tokens: int = 0,
          ask_assistant: bool = False) -> Turn:
    """A turn with its conversation's recent context, counted against every limit with its token reservation
    (the prompt's estimate plus `max_output_tokens`): 404 for a conversation the caller neither owns nor is a
    member of, 429 over a limit, 503 when the store cannot say whose it is (fails closed), all before any OpenAI
    call and none counted. In a room the turn is charged to the asker (their subject) and stored under the
    owner's id; the assistant answers when addressed (@assistant, @IA, or ask_assistant) or when the room is set
    to answer every message. A room message it is not asked to answer counts against the asker's message limits
    only: no OpenAI call, so no tokens are reserved."""
    subject = limits.subject_for(caller, client_ip)
    turn = Turn(caller.user_id, str(conversation_id or uuid.uuid4()), message, subject, cfg)
    _load_context(turn, caller, conversation_id, cfg, ask_assistant)
    if not turn.wants_reply:
        limits.reserve([bucket for bucket in limits.chat_buckets(spending, subject, 0)
                        if bucket.name not in limits.TOKEN_BUCKETS], cfg)
        return turn
    sent = ([system_prompt] if system_prompt else []) + [m["content"] for m in turn.context] + [message]
    _reserve(turn, spending, cfg, system_prompt, max_output_tokens)
    return turn


def begin_regenerate(caller: Caller, client_ip: str, conversation_id: str, cfg: HistorySettings,
                     spending: Limits, system_prompt: str | None = None, max_output_tokens: int = 0) -> Turn:
    """A turn that asks again the conversation's last question and will replace its last reply, reserved like
    any turn (see begin): 404 for a conversation not the caller's, 422 in a room (several people's questions:
    ask again instead) or when it has no reply to regenerate, 503 without a store, 429 over a limit."""
    subject = limits.subject_for(caller, client_ip)
    if cfg.backend == "supabase" and caller.kind != "user":
        raise ConversationNotFound()  # only signed-in users keep history there (see begin)
    try:
        store = stores.open_store(cfg) if caller.keeps_history else None
        if store is None:
            raise HistoryDisabled()
        access = store.room_access(caller.user_id, conversation_id)
        if access is None:
            raise ConversationNotFound()
        if access.is_room:  # its last reply answered one member among several: ask again instead
            raise ValidationFailed("regenerate", "a room's replies cannot be regenerated: ask again instead")
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


def _load_context(turn: Turn, caller: Caller, conversation_id: str | None, cfg: HistorySettings,
                  ask_assistant: bool = False) -> None:
    """Open the store and read the conversation's recent messages; 404 for a conversation the caller neither owns
    nor is a member of."""
    if cfg.backend == "supabase" and caller.kind != "user" and conversation_id is None:
        # Supabase history rows belong to users in auth.users: the token holder and anonymous callers own none
        # (a room they were invited to is its owner's: membership decides, below)
        turn.unsaved = HistoryForUsersOnly
        return
    try:
        turn.store = stores.open_store(cfg) if caller.keeps_history else None
        if turn.store is None:
            turn.unsaved = HistoryDisabled
            return
        if conversation_id is not None:
            access = rooms.enter(turn.store, caller, turn.conversation_id)
            if access.is_room:
                turn.user_id, turn.author = access.owner_id, caller
                turn.wants_reply = (ask_assistant or access.assistant_replies == "all"
                                    or rooms.addresses_assistant(turn.message))
                if not turn.wants_reply:
                    return
            recent = turn.store.messages(turn.user_id, turn.conversation_id, newest=history.CONTEXT_MESSAGES)
            if access.is_room:
                recent = rooms.in_context(recent)
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
