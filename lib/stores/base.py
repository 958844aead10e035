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

    def reserve_limits(self, buckets: list[Bucket]) -> list[Usage]:
        """All or nothing, atomically: if every bucket's window is under its limit, add each cost; a Usage per bucket."""

    def settle_limits(self, charges: list[Charge]) -> None:
        """Add each charge's delta (negative to give back) to its window, never below zero."""
