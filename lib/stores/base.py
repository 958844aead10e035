"""What every history store keeps to: its interface and its result types (its errors are lib.errors')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol


ROLES = ("user", "assistant")  # the only roles history stores, and the only ones it ever replays
STATUSES = ("complete", "interrupted")  # what record_messages takes; a room reply is "writing" while it grows
SOURCES = ("text", "voice")


def checked_messages(messages: list[dict]) -> list[dict]:
    """Messages to store, each {"role", "content", "status", "source"} with defaults filled; ValueError if invalid."""
    checked = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        status, source = message.get("status", "complete"), message.get("source", "text")
        if role not in ROLES or not isinstance(content, str) or status not in STATUSES or source not in SOURCES:
            raise ValueError("each message needs a role (user, assistant), text content, a status and a source")
        checked.append({"role": role, "content": content, "status": status, "source": source})
    if not checked:
        raise ValueError("no messages to store")
    return checked


class Keyset(NamedTuple):
    """Where a page of conversations starts: just after (in newest-first order) this updatedAt and id."""

    updated_at: datetime
    id: str


@dataclass(frozen=True)
class Bucket:
    """One counter: its name, window length, limit, what this request costs, and whose it is (a hash, or global)."""

    name: str
    window: int
    limit: int
    cost: int = 1
    subject: str = ""


@dataclass(frozen=True)
class Charge:
    """A correction to one counter's window: a reservation settled to what the request really cost."""

    subject: str
    bucket: str
    window_start: int  # epoch seconds
    delta: int


@dataclass(frozen=True)
class Usage:
    """A bucket after this request: whether it fit, how much is used, when the window resets (epoch seconds)."""

    bucket: str
    allowed: bool
    used: int
    reset_at: float


class RoomAccess(NamedTuple):
    """Whose conversation it is and the caller's place in it; `is_room` once its owner has invited anyone."""

    owner_id: str
    role: str  # "owner" | "member"
    is_room: bool = False
    assistant_replies: str = "mentions"  # "mentions" | "all": when the assistant answers in a room


class Reading(NamedTuple):
    """One read of a conversation: the caller's access, the conversation, one page of messages (oldest first), its
    members when it is a room (else None), and whether more messages lie beyond the page."""

    access: RoomAccess
    conversation: dict
    messages: list[dict]
    members: list[dict] | None
    more: bool


def page_of(rows: list[dict], limit: int, after: int | None) -> tuple[list[dict], bool]:
    """Up to `limit` of `rows` (oldest first; one more than `limit` was read to tell if more lie beyond): after a
    message id, the oldest; otherwise the newest."""
    more = len(rows) > limit
    if more:
        rows = rows[:limit] if after is not None else rows[-limit:]
    return rows, more


class Store(Protocol):
    """What the chat needs of a history store; every method is scoped to one user. Any method may raise
    lib.errors.StoreUnavailable; the writers raise lib.errors.ConversationNotFound as they say."""

    def conversation(self, user_id: str, conversation_id: str) -> dict | None:
        """{"id", "title", "createdAt", "updatedAt"}, or None if the user has no such conversation."""

    def conversations(self, user_id: str, limit: int = 100, before: Keyset | None = None) -> list[dict]:
        """The user's conversations, most recently updated first (ties: the greater id first); only those before
        `before` (updatedAt, id) in that order if given."""

    def messages(self, user_id: str, conversation_id: str, newest: int | None = None,
                 after: int | None = None) -> list[dict]:
        """{"id", "role", "content", "status", "source", "createdAt", "authorId", "authorName"} of the shown branch
        (the chosen versions), oldest first; only the last `newest`, or only those after message id `after`."""

    def read(self, user_id: str, conversation_id: str, limit: int, after: int | None = None,
             before: int | None = None) -> Reading | None:
        """In one request and one snapshot: the caller's access (as room_access), the conversation, its members if
        a room, and a page of at most `limit` messages: after message id `after` the oldest, else the newest (before
        message id `before` if given). None if the user may not read it."""

    def record_messages(self, user_id: str, conversation_id: str, title: str, messages: list[dict]) -> None:
        """The one writer: store messages ({"role", "content", "status", "source"}) atomically and in order,
        creating the conversation if new; ConversationNotFound if it is another user's or was deleted."""

    def record_turn(self, user_id: str, conversation_id: str, title: str, user_text: str,
                    assistant_text: str, status: str = "complete") -> None:
        """Store a user message and its reply atomically (record_messages), creating the conversation if new."""

    def delete_conversation(self, user_id: str, conversation_id: str) -> bool:
        """Delete a conversation and its messages for good; False if the user has no such conversation."""

    def search(self, user_id: str, query: str, limit: int = 50, before: Keyset | None = None) -> list[dict]:
        """The user's conversations and the rooms they are a member of whose title or a message contains `query`
        (case-insensitive), in the order and from the bound of `conversations`, each with "snippet": the newest
        matching message's text, or None when only the title matches."""

    def rename_conversation(self, user_id: str, conversation_id: str, title: str) -> bool:
        """Set a conversation's title; False if the user has no such conversation."""

    def record_version(self, user_id: str, conversation_id: str, version_of: int, messages: list[dict]) -> None:
        """Store messages as record_messages does, the first as a new version of the shown message `version_of`
        (of the same role), which leaves the shown branch with what followed it (kept, as an earlier version);
        ConversationNotFound when it is not such a message of the user's."""

    def choose_version(self, user_id: str, conversation_id: str, message_id: int) -> bool:
        """Show the version `message_id` (with the messages before it) and the branch last chosen under it; False
        if it is not the user's."""

    def versions(self, user_id: str, conversation_id: str) -> dict[int, list[int]]:
        """For each shown message that has other versions: every version's id, oldest first."""

    def reserve_limits(self, buckets: list[Bucket]) -> list[Usage]:
        """All or nothing, atomically: if every bucket's window is under its limit, add each cost; a Usage per bucket."""

    def settle_limits(self, charges: list[Charge]) -> None:
        """Add each charge's delta (negative to give back) to its window, never below zero."""

    def record_voice_call(self, user_id: str, call_id: str, conversation_id: str) -> None:
        """Remember that a Realtime call is this user's, and which conversation its transcript goes to."""

    def voice_call(self, user_id: str, call_id: str) -> dict | None:
        """{"id", "conversationId", "createdAt", "endedAt"} of the user's call (endedAt None until it is hung up
        through us), or None if the user has no such call."""

    def end_voice_call(self, user_id: str, call_id: str) -> None:
        """Note when the user's call was hung up (the first time only)."""

    # Rooms: `user_id` is always the caller; the store checks ownership or membership itself.

    def room_access(self, user_id: str, conversation_id: str) -> RoomAccess | None:
        """The owner and the caller's role if the caller owns the conversation or is a member of its room."""

    def rooms(self, user_id: str, limit: int | None = None, before: Keyset | None = None) -> list[dict]:
        """The rooms the user is in: conversation fields, "role" and "members" ([{"userId", "name", "role"}]), in
        the order and from the bound of `conversations` (all of them unless `limit`)."""

    def members(self, owner_id: str, conversation_id: str) -> list[dict]:
        """[{"userId", "name", "role"}] of a room, the owner first."""

    def create_room(self, owner_id: str, conversation_id: str, title: str, owner_name: str) -> None:
        """A new conversation, titled, with its owner as the room's only member and no message."""

    def create_invite(self, owner_id: str, conversation_id: str, owner_name: str, token_hash: str,
                      expires_at: str, reusable: bool = False) -> str:
        """Store an invitation (by its token's hash; single use unless reusable), make the owner the room's first
        member; the invitation's id."""

    def accept_invite(self, token_hash: str, user_id: str, name: str) -> tuple[str, str] | None:
        """Join the room of a live invitation: (conversation id, role), or None if expired, revoked, unknown, spent
        (single use, someone joined), or made before this user last left or was removed; a member re-entering
        keeps their role whatever the invitation."""

    def invites(self, owner_id: str, conversation_id: str) -> list[dict]:
        """A room's open invitations, oldest first: [{"id", "createdAt", "expiresAt", "reusable", "joined",
        "createdBy"}]."""

    def revoke_invite(self, owner_id: str, token_hash: str) -> bool:
        """Revoke a live invitation to one of the owner's conversations; False if there is none."""

    def revoke_invite_id(self, owner_id: str, conversation_id: str, invite_id: str) -> bool:
        """Revoke a live invitation of the owner's room by its id; False if there is none."""

    def remove_member(self, conversation_id: str, user_id: str) -> bool:
        """Take a member out of a room (never its owner), remembering when; False if they were not in it."""

    def set_assistant_replies(self, owner_id: str, conversation_id: str, mode: str) -> bool:
        """Whether the assistant answers every message ("all") or only when addressed ("mentions")."""

    def record_room_turn(self, owner_id: str, conversation_id: str, author_id: str, author_name: str,
                         user_text: str, assistant_text: str | None, status: str = "complete") -> None:
        """Store an author's message and the reply (if any) atomically; ConversationNotFound if the author is
        no longer the owner or a member at that moment."""

    def start_room_reply(self, owner_id: str, conversation_id: str, author_id: str, author_name: str,
                         user_text: str) -> int:
        """Store an author's question and an empty reply with status "writing", atomically, while the author may
        write (else ConversationNotFound); the reply's id."""

    def update_room_reply(self, owner_id: str, conversation_id: str, reply_id: int, author_id: str, text: str,
                          status: str) -> str:
        """Set a reply in progress's text and status ("writing", "complete", "interrupted"; "failed" deletes it)
        only while it is still writing: "ok", "stopped" (it is not: someone stopped it), or "gone" (the
        conversation was deleted, or the asker left the room: the reply is deleted)."""

    def stop_room_replies(self, owner_id: str, conversation_id: str, asked_by: str | None) -> tuple[int, int]:
        """Mark a room's replies in progress interrupted (all, or those `asked_by` asked for): (how many were,
        how many others are still being written)."""

    # The firm's controls (lib/audit.py, lib/usage.py, lib/retention.py, lib/my_data.py); times are ISO 8601 UTC.

    def append_audit(self, kind: str, actor: str, target: str, detail: dict) -> None:
        """Append one line to the audit trail (hashed ids only, never message text)."""

    def audit_events(self, since: str | None, until: str | None, kind: str | None, limit: int,
                     actor: str | None = None) -> list[dict]:
        """{"id", "at", "kind", "actor", "target", "detail"}, newest first, within [since, until), of `kind` and
        by `actor` (a hash) when given."""

    def prune_audit(self, before: str) -> int:
        """Delete audit lines older than `before`; how many."""

    def add_usage(self, day: str, user_id: str, name: str, model: str, **counts: int) -> None:
        """Add to a person's usage for a UTC day and model: messages, input/output/reasoning tokens, voice
        sessions and seconds, refusals."""

    def usage(self, first_day: str, last_day: str, user_id: str | None = None) -> list[dict]:
        """Usage rows (one per day, person and model) from first_day to last_day, both included."""

    def prune_history(self, before: str) -> dict:
        """Delete conversations last active before `before` (messages, transcripts, memberships with them), calls
        and invitations made before it: {"conversations", "calls", "invitations"}; safe to run twice at once."""

    def export_user(self, user_id: str) -> dict:
        """Everything kept of a person: {"conversations": [... "messages"], "roomMessages": [...]}, with nothing
        anyone else wrote but the assistant's replies to them."""

    def erase_user(self, user_id: str) -> dict:
        """Erase a person's conversations (a room others are in stays, without their words or the replies to
        them), their messages in others' rooms and the replies to them, memberships, calls and usage:
        {"conversations", "messages"}."""

    # Feedback on replies (lib/feedback.py): one rating per person and assistant message.

    def set_feedback(self, user_id: str, name: str, conversation_id: str, message_id: int, rating: str | None,
                     comment: str) -> bool:
        """Rate ("up", "down"; None takes the rating back) an assistant reply of a conversation the user owns or
        is a member of, with a comment ("" for none); False if there is no such reply for them."""

    def feedback(self, user_id: str, conversation_id: str) -> list[dict]:
        """The user's ratings in a conversation: [{"messageId", "rating", "comment"}]."""

    def feedback_between(self, since: str, until: str, limit: int) -> list[dict]:
        """Everyone's ratings last changed within [since, until), newest first: {"at", "rating", "comment", "name",
        "user_id", "conversation_id", "message_id"}."""

    def user_feedback(self, user_id: str) -> list[dict]:
        """All of a person's ratings, for their export."""

    def erase_feedback(self, user_id: str) -> int:
        """Delete all of a person's ratings; how many."""
