"""The caller's conversations: list them, read one, delete one (GET and DELETE on the chat endpoint)."""

from __future__ import annotations

from lib import log, stores
from lib.errors import (
    ConversationNotFound, HistoryDisabled, HistoryUnavailable, ValidationFailed, canonical_uuid,
)
from lib.settings import HistorySettings


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
