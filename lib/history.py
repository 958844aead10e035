"""Chat history: the store interface, which store is configured, and how history fits the context budget."""

from __future__ import annotations

from typing import Protocol

from lib.settings import HistorySettings

CONTEXT_MESSAGES = 200  # the most recent messages loaded before trimming to the character budget
TITLE_CHARS = 80


class StoreUnavailable(Exception):
    """The store could not be reached, or answered with an error."""


class ConversationNotFound(Exception):
    """No such conversation for this user."""


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

    def consume_limits(self, subject: str, buckets: list) -> list:
        """Add each bucket's cost to its current window atomically; a lib.limits.Usage per bucket."""


def open_store(cfg: HistorySettings) -> Store | None:
    """The configured store (Supabase, else SQLite at HISTORY_DB), or None when history is off."""
    if cfg.backend == "supabase":
        from lib.store_supabase import SupabaseStore

        return SupabaseStore(cfg.supabase_url, cfg.supabase_service_role_key, cfg.timeout)
    if cfg.backend == "sqlite":
        from lib.store_sqlite import SqliteStore

        return SqliteStore(cfg.sqlite_path)
    return None


def title_for(message: str) -> str:
    """A conversation's title: its first message on one line, cut to 80 characters."""
    line = " ".join(message.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def fit_to_budget(messages: list[dict], max_chars: int) -> list[dict]:
    """The most recent messages whose contents add up to at most max_chars, as OpenAI chat messages."""
    kept: list[dict] = []
    used = 0
    for message in reversed(messages):
        used += len(message["content"])
        if used > max_chars:
            break
        kept.append({"role": message["role"], "content": message["content"]})
    kept.reverse()
    while kept and kept[0]["role"] == "assistant":  # never open the context with a reply to nothing
        kept.pop(0)
    return kept
