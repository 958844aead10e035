"""The caller's conversations: list, search, read, rename and delete them (GET, PATCH, DELETE on the chat endpoint)."""

from __future__ import annotations

from lib import log, stores
from lib.errors import (
    ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed, canonical_uuid,
)
from lib.settings import HistorySettings

TITLE_MAX_CHARS = 200
SEARCH_MAX_CHARS = 200
SNIPPET_CHARS = 120


def conversation_id_from(query: dict[str, str], required: bool = False) -> str | None:
    """The conversationId query parameter as a canonical UUID (or None); 422 when not a UUID or missing if required."""
    raw = query.get("conversationId")
    if raw is None:
        if required:
            raise ValidationFailed("conversationId", "is required")
        return None
    return canonical_uuid(raw, "conversationId")


def list_all(user_id: str, cfg: HistorySettings) -> dict:
    """The user's conversations, most recently updated first."""
    return {"conversations": _call(cfg, lambda store: store.conversations(user_id))}


def search(user_id: str, query: str, cfg: HistorySettings) -> dict:
    """The user's conversations whose title or messages contain `query`, each with a short snippet."""
    text = " ".join(query.split())
    if not text:
        raise ValidationFailed("q", "must not be blank")
    if len(text) > SEARCH_MAX_CHARS:
        raise ValidationFailed("q", f"must be at most {SEARCH_MAX_CHARS} characters")
    found = _call(cfg, lambda store: store.search(user_id, text))
    return {"conversations": [{**row, "snippet": snippet(row["snippet"], text)} for row in found]}


def snippet(content: str | None, query: str, width: int = SNIPPET_CHARS) -> str | None:
    """About `width` characters of `content` around the first match of `query`, on one line."""
    if content is None:
        return None
    line = " ".join(content.split())
    at = line.lower().find(query.lower())
    start = max(0, at - width // 3) if at >= 0 else 0
    piece = line[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(line) else "")


def title_from(data: dict) -> str:
    """The PATCH body's title, one trimmed line of 1..200 characters; 422 otherwise."""
    unknown = sorted(set(data) - {"title"})
    if unknown:
        raise ValidationFailed(unknown[0], "unknown field")
    title = data.get("title")
    if not isinstance(title, str):
        raise ValidationFailed("title", "is required and must be a string")
    title = " ".join(title.split())
    if not title:
        raise ValidationFailed("title", "must not be blank")
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationFailed("title", f"must be at most {TITLE_MAX_CHARS} characters")
    return title


def rename(user_id: str, conversation_id: str, title: str, cfg: HistorySettings) -> dict:
    """Give one of the user's conversations a new title; 404 if it is not the user's."""

    def update(store):
        if not store.rename_conversation(user_id, conversation_id, title):
            raise ConversationNotFound()
        return {"conversationId": conversation_id, "title": title}

    return _call(cfg, update)


def read(user_id: str, conversation_id: str, cfg: HistorySettings) -> dict:
    """One conversation and its messages, oldest first; 404 if it is not the user's."""

    def load(store):
        conversation = store.conversation(user_id, conversation_id)
        if conversation is None:
            raise ConversationNotFound()
        return {"conversationId": conversation["id"], "title": conversation["title"],
                "createdAt": conversation["createdAt"], "updatedAt": conversation["updatedAt"],
                "messages": store.messages(user_id, conversation_id)}

    return _call(cfg, load)


def delete(user_id: str, conversation_id: str, cfg: HistorySettings) -> dict:
    """Delete one conversation and its messages; 404 if it is not the user's."""

    def remove(store):
        if not store.delete_conversation(user_id, conversation_id):
            raise ConversationNotFound()
        return {"deleted": True, "conversationId": conversation_id}

    return _call(cfg, remove)


def _call(cfg: HistorySettings, operation):
    try:
        store = stores.open_store(cfg)
        if store is None:
            raise HistoryDisabled()
        return operation(store)
    except stores.StoreUnavailable as exc:
        log.error(event="history_unavailable", error=type(exc).__name__)
        raise HistoryUnavailable() from None
