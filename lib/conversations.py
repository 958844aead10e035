"""The caller's conversations: list, search, read, rename and delete them (GET, PATCH, DELETE on the chat endpoint)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from lib import audit, rooms
from lib.errors import ConversationNotFound, OwnerOnly, ValidationFailed, canonical_uuid
from lib.history import History
from lib import validate
from lib.stores.base import Keyset
from lib.validate import Body, Field, storable

READ_PAGE = 100  # messages in a conversation's first page, and in each earlier page read as the reader scrolls up
POLL_PAGE = 200  # at most this many new messages per poll; `hasNewer` says to poll again at once
SEARCH_MAX_CHARS = 200
SNIPPET_CHARS = 120
PAGE = 50  # conversations per page of the list and of search results
CURSOR_MAX_CHARS = 200
RENAME_BODY = Body(dict, title=Field(str, required=True))


def conversation_id_from(query: dict[str, str], required: bool = False) -> str | None:
    """The conversationId query parameter as a canonical UUID (or None); 422 when not a UUID or missing if required."""
    raw = query.get("conversationId")
    if raw is None:
        if required:
            raise ValidationFailed("conversationId", "is required")
        return None
    return canonical_uuid(raw, "conversationId")


def after_from(query: dict[str, str]) -> int | None:
    """The `after` query parameter (a message id: only newer messages are read), or None; 422 if not one."""
    raw = query.get("after")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed("after", "must be a message id (a whole number)")
    if "conversationId" not in query:
        raise ValidationFailed("conversationId", "is required with after")
    return int(raw)


def before_from(query: dict[str, str]) -> int | None:
    """The `before` query parameter (a message id: the page of messages just older than it), or None; 422 if not
    one, or with `after`."""
    raw = query.get("before")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed("before", "must be a message id (a whole number)")
    if "after" in query:
        raise ValidationFailed("before", "cannot be combined with after")
    if "conversationId" not in query:
        raise ValidationFailed("conversationId", "is required with before")
    return int(raw)


def cursor_from(query: dict[str, str]) -> Keyset | None:
    """The `cursor` query parameter (a `nextCursor` this server gave) as where the page starts, or None; 422 if
    it is not one."""
    raw = query.get("cursor")
    if raw is None:
        return None
    try:
        if len(raw) > CURSOR_MAX_CHARS:
            raise ValueError
        updated_at, conversation_id = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
        at = datetime.fromisoformat(updated_at)
        if at.tzinfo is None:
            raise ValueError
        return Keyset(at, canonical_uuid(conversation_id, "cursor"))
    except (ValueError, TypeError, UnicodeError, binascii.Error, ValidationFailed):
        raise ValidationFailed("cursor", "must be a nextCursor from this list") from None


def cursor_after(row: dict) -> str:
    """The opaque cursor of the page that starts just after this row."""
    return base64.urlsafe_b64encode(json.dumps([row["updatedAt"], row["id"]]).encode()).decode().rstrip("=")


def _order(row: dict) -> tuple:
    return datetime.fromisoformat(row["updatedAt"]), row["id"]


def _page(rows: list[dict]) -> dict:
    """The first PAGE rows (of PAGE + 1 asked for) and the cursor of the next page (null at the end)."""
    return {"conversations": rows[:PAGE], "nextCursor": cursor_after(rows[PAGE - 1]) if len(rows) > PAGE else None}


def list_all(history: History, cursor: Keyset | None = None) -> dict:
    """One page of the user's conversations and the rooms they are in together, most recently updated first
    (`updatedAt`: their last message; ties: the greater id first), from `cursor` on; each says whether it is a
    room, the user's role there, who is in it (under the names shown in it) and how many (`room`: null for a
    conversation not shared). `nextCursor` asks for the next page (null at the end)."""

    user_id = history.caller.user_id

    def load(store):
        # the first PAGE + 1 of each list hold the first PAGE + 1 of both together (a room its owner is in is in both)
        joined = {room["id"]: room for room in store.rooms(user_id, limit=PAGE + 1, before=cursor)}
        listed = [{**c, "room": None} for c in store.conversations(user_id, limit=PAGE + 1, before=cursor)
                  if c["id"] not in joined]
        listed += [{**{k: v for k, v in room.items() if k not in ("role", "members")},
                    "room": {"role": room["role"], "members": rooms.named(room["members"]),
                             "memberCount": len(room["members"])}} for room in joined.values()]
        return _page(sorted(listed, key=_order, reverse=True))

    return history.run(load)


def search(history: History, query: str, cursor: Keyset | None = None) -> dict:
    """One page of the user's conversations, and of the rooms they are in, whose title or messages contain `query`,
    each with a short snippet, in the list's order, from `cursor` on."""
    text = " ".join(storable(query, "q").split())
    if not text:
        raise ValidationFailed("q", "must not be blank")
    if len(text) > SEARCH_MAX_CHARS:
        raise ValidationFailed("q", f"must be at most {SEARCH_MAX_CHARS} characters")
    user_id = history.caller.user_id
    page = _page(history.run(lambda store: store.search(user_id, text, limit=PAGE + 1, before=cursor)))
    page["conversations"] = [{**row, "snippet": snippet(row["snippet"], text)} for row in page["conversations"]]
    return page


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
    return validate.title(RENAME_BODY.parse(data)["title"])


def rename(history: History, conversation_id: str, title: str) -> dict:
    """Give one of the user's conversations a new title; 404 if it is not the user's."""

    def update(store):
        if not store.rename_conversation(history.caller.user_id, conversation_id, title):
            raise ConversationNotFound()
        return {"conversationId": conversation_id, "title": title}

    return history.run(update)


def read(history: History, conversation_id: str, after: int | None = None, before: int | None = None) -> dict:
    """One conversation (its owner's, or a room the user is in) and a page of its messages, oldest first, each with
    its author (in a room, under the names shown in it: see rooms.display_names), in one request to the store: the
    newest READ_PAGE (`hasOlder` if more lie before them), or those before message id `before`, or up to POLL_PAGE
    after message id `after` (`hasNewer` if more follow: a room's reply being written has status "writing"). A
    room says its members' version, which changes only when someone joins, leaves or is renamed. 404 if the user
    may not read it."""
    user_id, name = history.caller.user_id, history.caller.name

    def load(store):
        page = POLL_PAGE if after is not None else READ_PAGE
        found = store.read(user_id, conversation_id, page, after=after, before=before)
        if found is None:
            raise ConversationNotFound()
        access, conversation, messages = found.access, found.conversation, found.messages
        names = {access.owner_id: name} if access.role == "owner" else {}
        room = None
        if access.is_room:
            names = rooms.display_names(rooms.people_of(found.members, messages, access.owner_id))
            room = {"role": access.role, "assistantReplies": access.assistant_replies,
                    "membersVersion": rooms.members_version(found.members)}
        more = {"hasNewer": found.more} if after is not None else {"hasOlder": found.more}
        if not access.is_room:
            with_versions(messages, store.versions(access.owner_id, conversation_id))
        return {"conversationId": conversation["id"], "title": conversation["title"],
                "createdAt": conversation["createdAt"], "updatedAt": conversation["updatedAt"], "room": room,
                "messages": rooms.label(messages, access.owner_id, names), **more}

    return history.run(load)


def with_versions(messages: list[dict], versions: dict[int, list[int]]) -> list[dict]:
    """Each message with other versions gets `versions`: {"index" (1-based), "count", "ids" (oldest first)}."""
    for message in messages:
        ids = versions.get(message["id"])
        if ids:
            message["versions"] = {"index": ids.index(message["id"]) + 1, "count": len(ids), "ids": ids}
    return messages


def choose_version(history: History, conversation_id: str, message_id: int) -> dict:
    """Show the version `message_id` of one of the user's messages (and the branch last chosen under it); the
    conversation as GET reads it. 404 if it is not one of the user's messages there; 422 in a room."""
    user_id = history.caller.user_id

    def choose(store):
        access = store.room_access(user_id, conversation_id)
        if access is not None and access.is_room:
            raise ValidationFailed("chooseVersion", "a room's messages have no versions")
        if access is None or not store.choose_version(user_id, conversation_id, message_id):
            raise ConversationNotFound()

    history.run(choose, "history_write_failed")
    return read(history, conversation_id)


def delete(history: History, conversation_id: str) -> dict:
    """Delete one conversation and its messages; 404 if it is not the user's, 403 for a room's member (who
    leaves it instead)."""

    user_id = history.caller.user_id

    def remove(store):
        if not store.delete_conversation(user_id, conversation_id):
            if store.room_access(user_id, conversation_id) is not None:
                raise OwnerOnly("Only the owner can delete a room; leave it instead (DELETE /api/groupchat/members).")
            raise ConversationNotFound()
        audit.record(history, "conversation_deleted", conversation_id)
        return {"deleted": True, "conversationId": conversation_id}

    return history.run(remove)
