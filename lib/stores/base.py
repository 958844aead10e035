"""What every history store keeps to: its interface, its errors and its result types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreUnavailable(Exception):
    """The store could not be reached, or answered with an error."""


class ConversationNotFound(Exception):
    """No such conversation for this user."""


@dataclass(frozen=True)
class Bucket:
    """One counter: its name, window length, limit and what this request costs."""

    name: str
    window: int
    limit: int
    cost: int = 1


@dataclass(frozen=True)
class Usage:
    """A bucket after this request: whether it fit, how much is used, when the window resets (epoch seconds)."""

    bucket: str
    allowed: bool
    used: int
    reset_at: float


class Store(Protocol):
    """What the chat needs of a history store; every method is scoped to one user."""

    def conversation(self, user_id: str, conversation_id: str) -> dict | None:
        """{"id", "title", "createdAt", "updatedAt"}, or None if the user has no such conversation."""

    def conversations(self, user_id: str, limit: int = 100) -> list[dict]:
        """The user's conversations, most recently updated first."""

    def messages(self, user_id: str, conversation_id: str, newest: int | None = None) -> list[dict]:
        """{"id", "role", "content", "status", "createdAt"}, oldest first; only the last `newest` if given."""

    def record_turn(self, user_id: str, conversation_id: str, title: str, user_text: str,
                    assistant_text: str, status: str = "complete") -> None:
        """Store a user message and its reply atomically, creating the conversation if new."""

    def delete_conversation(self, user_id: str, conversation_id: str) -> bool:
        """Delete a conversation and its messages; False if the user has no such conversation."""

    def consume_limits(self, subject: str, buckets: list[Bucket]) -> list[Usage]:
        """Add each bucket's cost to its current window atomically; a Usage per bucket."""

    def record_call(self, user_id: str, call_id: str, conversation_id: str) -> None:
        """Remember that a Realtime call is this user's, and which conversation its transcript goes to."""

    def call(self, user_id: str, call_id: str) -> dict | None:
        """{"id", "conversationId", "createdAt"} of the user's call, or None if the user has no such call."""
