"""One chat turn's history: its conversation, the context it is sent with, and storing it once it is done."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from lib import context, limits, log, rooms
from lib.errors import ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed
from lib.history import History
from lib.limits import Reservation
from lib.usage import counted_message, counted_turn

DELETED_MEANWHILE = "The conversation was deleted while this reply was written; the turn was not saved."
ROOM_REFUSALS = {"regenerate": "a room's replies cannot be regenerated: ask again instead",
                 "editOf": "a room's questions cannot be edited: ask a new one instead"}
WRITING_UPDATE_SECONDS = 0.5  # a room's reply in progress is stored at its first words, then at most this often


@dataclass
class Turn:
    """Where a turn goes; `unsaved` says why it will not be stored, when it will not."""

    history: History
    user_id: str  # whose rows it is stored under: the caller's, or the room's owner's
    conversation_id: str
    message: str
    context: list[dict] = field(default_factory=list)
    unsaved: type[HistoryDisabled] | type[HistoryUnavailable] | None = None
    prompt_tokens: int = 0
    reservation: Reservation = field(default_factory=Reservation)
    in_room: bool = False  # the conversation is a room: the message is stored under its author, the caller
    wants_reply: bool = True  # False: a room message not addressed to the assistant, stored without a reply
    version_of: int | None = None  # a regenerated reply's or edited question's: the message it is a new version of
    asks_again: bool = False  # a regenerated turn: its question is the stored one (already screened)
    preamble: list[dict] = field(default_factory=list)  # in a room: the system message saying who is who
    asker_label: str | None = None  # in a room: the asker's label, the `name` of their message to OpenAI
    reply_id: int | None = None  # in a room: the reply stored while it is written (see start)
    _stored_at: float | None = None  # when the reply in progress was last stored (monotonic)

    def start(self) -> None:
        """In a room, store the asker's question at once and an empty reply with status "writing", which grows
        (see grow) until the turn is finished: every member sees both while the reply is made. Elsewhere
        nothing: a private turn is stored when it is done."""
        if not (self.in_room and self.wants_reply and self.unsaved is None):
            return
        author = self.history.caller
        try:
            with self.history.store("history_write_failed", self.conversation_id) as store:
                self.reply_id = store.start_room_reply(self.user_id, self.conversation_id, author.user_id,
                                                       author.name, self.message)
        except (ConversationNotFound, HistoryUnavailable):  # removed meanwhile, or the store failed: no call made
            self.reservation.settle(0, self.history)
            raise

    def grow(self, reply: str) -> str:
        """Store the reply in progress: its first words at once, then at most every WRITING_UPDATE_SECONDS;
        "ok", or "stopped" (someone stopped it) or "gone" (the conversation was deleted, or the asker is no
        longer in the room): the writer stops."""
        now = time.monotonic()
        if self.reply_id is None or (self._stored_at is not None and now - self._stored_at < WRITING_UPDATE_SECONDS):
            return "ok"
        self._stored_at = now
        return self._update(reply, "writing")

    def _update(self, reply: str, status: str) -> str:
        try:
            with self.history.store("history_write_failed", self.conversation_id) as store:
                return store.update_room_reply(self.user_id, self.conversation_id, self.reply_id,
                                               self.history.caller.user_id, reply, status)
        except HistoryUnavailable:
            return "ok"  # the next update, or the last, tries again

    def abandon(self) -> None:
        """The reply failed before it was finished: its row in progress is deleted (the question stays)."""
        if self.reply_id is not None:
            self._update("", "failed")
            self.reply_id = None

    def finish(self, reply: str, usage: dict | None, status: str = "complete") -> dict:
        """Settle the turn's token reservation to what it cost (see charge), then save the turn (see save)."""
        self.charge(reply, usage)
        counted_turn(self.history, usage)
        return self.save(reply, status)

    def charge(self, reply: str, usage: dict | None) -> None:
        """Settle the reservation, once: to OpenAI's reported total, or, with no report (the caller hung up, the
        stream broke), to an estimate of the prompt and of the reply as far as it got; never zero."""
        total = (usage or {}).get("total_tokens")
        if not isinstance(total, int) or total <= 0:
            total = self.prompt_tokens + limits.estimate_tokens(reply)
        self.reservation.settle(total, self.history)

    @contextmanager
    def charged_if_it_fails(self):
        """If what follows fails before the turn is finished, charge what its prompt may have cost."""
        try:
            yield self
        except BaseException:
            self.charge("", None)
            self.abandon()
            raise

    def save(self, reply: str | None, status: str = "complete") -> dict:
        """Store the message and its reply; the response's `saved` (and a `warning` when not)."""
        if self.unsaved is None and self.reply_id is not None:
            return self._finish_in_room(reply, status)
        if self.unsaved is None and self.in_room:
            return self._save_in_room(reply, status)
        warning = None
        if self.unsaved is None:
            try:
                with self.history.store("history_write_failed", self.conversation_id) as store:
                    if self.version_of is not None:
                        asked = [] if self.asks_again else [{"role": "user", "content": self.message}]
                        store.record_version(self.user_id, self.conversation_id, self.version_of,
                                             asked + [{"role": "assistant", "content": reply, "status": status}])
                    else:
                        store.record_turn(self.user_id, self.conversation_id, context.title_for(self.message),
                                          self.message, reply, status)
                return {"saved": True}
            except ConversationNotFound:
                log.info(event="history_write_refused",
                         conversationHash=log.conversation_hash(self.conversation_id))
                warning = HistoryUnavailable(DELETED_MEANWHILE)
            except HistoryUnavailable:
                self.unsaved = HistoryUnavailable
        return _unsaved(warning or (self.unsaved or HistoryUnavailable)())

    def _finish_in_room(self, reply: str, status: str) -> dict:
        """The reply in progress becomes complete (or interrupted): `saved`, with `stopped` when someone stopped
        it first (it then keeps what was stored when they did); 404 conversation_not_found when the asker was
        removed meanwhile (the reply is deleted)."""
        outcome = self._update(reply, status)
        self.reply_id = None
        if outcome == "gone":
            log.note(event="room_turn_refused")
            raise ConversationNotFound()
        return {"saved": True, **({"stopped": True} if outcome == "stopped" else {})}

    def _save_in_room(self, reply: str | None, status: str) -> dict:
        """The room's writer checks, in the same transaction, that the author may still write: one removed while
        the reply was made gets 404 conversation_not_found, and nothing of the turn is stored."""
        author = self.history.caller
        try:
            with self.history.store("history_write_failed", self.conversation_id) as store:
                store.record_room_turn(self.user_id, self.conversation_id, author.user_id, author.name,
                                       self.message, reply, status)
            return {"saved": True}
        except ConversationNotFound:
            log.note(event="room_turn_refused")
            raise
        except HistoryUnavailable:
            if reply is None:  # a message alone has nothing else to give: it failed
                raise
            self.unsaved = HistoryUnavailable
        return _unsaved(HistoryUnavailable())

    def post_only(self) -> dict:
        """Store a room message the assistant was not asked to answer: `{"conversationId", "saved", "message":
        null}`."""
        counted_message(self.history)
        return {"conversationId": self.conversation_id, "message": None, **self.save(None)}


def _unsaved(warning: HistoryDisabled | HistoryUnavailable) -> dict:
    return {"saved": False, "warning": {"code": warning.code, "message": warning.message}}


def begin(history: History, message: str, conversation_id: str | None, system_prompt: str | None = None,
          max_output_tokens: int = 0, ask_assistant: bool = False) -> Turn:
    """A turn with its conversation's recent context, counted against every limit with its token reservation
    (the prompt's estimate plus `max_output_tokens`): 404 for a conversation the caller neither owns nor is a
    member of, 429 over a limit, 503 when the store cannot say whose it is (fails closed), all before any OpenAI
    call and none counted. In a room the turn is charged to the asker (their subject) and stored under the
    owner's id; the assistant answers when addressed (@assistant, @IA, or ask_assistant) or when the room is set
    to answer every message. A room message it is not asked to answer makes no OpenAI call but is counted
    against the poster's message limits and their token budgets by what it adds to the room's context (its
    prompt estimate): whoever asks later does not pay for it."""
    turn = Turn(history, history.caller.user_id, str(conversation_id or uuid.uuid4()), message)
    _load_context(turn, conversation_id, ask_assistant)
    if not turn.wants_reply:
        limits.reserve(limits.chat_buckets(history.spending, history.subject, limits.prompt_estimate([message])),
                       history)
        return turn
    _reserve(turn, system_prompt, max_output_tokens)
    return turn


def begin_regenerate(history: History, conversation_id: str, system_prompt: str | None = None,
                     max_output_tokens: int = 0) -> Turn:
    """A turn that asks again the conversation's last question; its reply is stored as a new version of the last
    reply (which is kept), reserved like any turn (see begin): 404 for a conversation not the caller's, 422 in a
    room (several people's questions: ask again instead) or when it has no reply to regenerate, 503 without a
    store, 429 over a limit."""
    recent = _private_messages(history, conversation_id, "regenerate", context.CONTEXT_MESSAGES + 2)
    if len(recent) < 2 or recent[-1]["role"] != "assistant" or recent[-2]["role"] != "user":
        raise ValidationFailed("regenerate", "this conversation has no reply to regenerate")
    question, reply = recent[-2], recent[-1]
    turn = Turn(history, history.caller.user_id, conversation_id, question["content"], version_of=reply["id"],
                asks_again=True)
    turn.context = context.fit_to_budget(recent[:-2], history.cfg.max_chars)
    _reserve(turn, system_prompt, max_output_tokens)
    return turn


def begin_edit(history: History, conversation_id: str, edit_of: int, message: str, system_prompt: str | None = None,
               max_output_tokens: int = 0) -> Turn:
    """A turn that asks `message` in place of the shown question `edit_of`: the context is what came before it,
    and the question and its reply are stored as a new version of it (what followed it is kept, as an earlier
    version). 404 for a conversation not the caller's, 422 in a room or when `edit_of` is not one of its shown
    questions, 503 without a store, 429 over a limit."""
    shown = _private_messages(history, conversation_id, "editOf", None)
    at = next((i for i, m in enumerate(shown) if m["id"] == edit_of and m["role"] == "user"), None)
    if at is None:
        raise ValidationFailed("editOf", "must be the id of one of this conversation's questions")
    turn = Turn(history, history.caller.user_id, conversation_id, message, version_of=edit_of)
    turn.context = context.fit_to_budget(shown[max(0, at - context.CONTEXT_MESSAGES):at], history.cfg.max_chars)
    _reserve(turn, system_prompt, max_output_tokens)
    return turn


def _private_messages(history: History, conversation_id: str, field: str, newest: int | None) -> list[dict]:
    """The shown messages of one of the caller's private conversations (the last `newest`, if given): 404 when it
    is not theirs, 422 naming `field` in a room (its messages are everyone's: no versions there)."""
    user_id = history.caller.user_id
    if not history.owns_rows and history.cfg.backend == "supabase":
        raise ConversationNotFound()  # no conversation of the caller's can exist there (History.owns_rows)
    with history.store("history_read_failed") as store:
        access = store.room_access(user_id, conversation_id)
        if access is None:
            raise ConversationNotFound()
        if access.is_room:  # its messages answer several people: ask again instead
            raise ValidationFailed(field, ROOM_REFUSALS[field])
        return store.messages(user_id, conversation_id, newest=newest)


def _reserve(turn: Turn, system_prompt: str | None, max_output_tokens: int) -> None:
    """Estimate the prompt's tokens and reserve them, with `max_output_tokens`, against every chat limit."""
    history = turn.history
    sent = (([system_prompt] if system_prompt else []) + [m["content"] for m in turn.preamble + turn.context]
            + [turn.message])
    turn.prompt_tokens = limits.prompt_estimate(sent)
    turn.reservation = limits.reserve(
        limits.chat_buckets(history.spending, history.subject, turn.prompt_tokens + max_output_tokens), history)


def _load_context(turn: Turn, conversation_id: str | None, ask_assistant: bool = False) -> None:
    """Read the conversation's recent messages; 404 for a conversation the caller neither owns nor is a member
    of, 503 when the store cannot say (fails closed). A new conversation reads nothing: the store is first
    opened, if at all, when the turn is counted or saved."""
    history = turn.history
    if conversation_id is None:
        if not history.owns_rows:
            turn.unsaved = history.why_unsaved()
        return
    if not history.caller.keeps_history or history.cfg.backend is None:
        turn.unsaved = HistoryDisabled
        return
    with history.store("history_read_failed") as store:
        access = rooms.enter(store, history.caller.user_id, turn.conversation_id)
        if access.is_room:
            turn.user_id, turn.in_room = access.owner_id, True
            turn.wants_reply = (ask_assistant or access.assistant_replies == "all"
                                or rooms.addresses_assistant(turn.message))
            if not turn.wants_reply:
                return
        recent = store.messages(turn.user_id, turn.conversation_id, newest=context.CONTEXT_MESSAGES)
        if access.is_room:
            members = store.members(access.owner_id, turn.conversation_id)
    if access.is_room:
        recent, system, turn.asker_label = rooms.for_model(recent, members, access.owner_id, history.caller.user_id)
        turn.preamble = [system]
    turn.context = context.fit_to_budget(recent, history.cfg.max_chars)
