"""Rooms: a conversation shared by invitation; who may enter it, its members, and when the assistant answers."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from lib import audit, log, stores
from lib.errors import (
    ConversationNotFound, InviteNotFound, MemberNotFound, OwnerOnly, SignInRequired, ValidationFailed, canonical_uuid,
)
from lib.history import History
from lib.validate import Body, Field

INVITE_DAYS, MAX_INVITE_DAYS = 7, 30
ASSISTANT_NAME = "Assistant"
ASSISTANT_MODES = ("mentions", "all")
_MENTION = re.compile(r"(?<![\w@])@(assistant|ia)(?!\w)", re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
POST_BODY = Body(dict, conversationId=Field(str), invite=Field(str),
                 expiresInDays=Field(int, minimum=1, maximum=MAX_INVITE_DAYS))
CONFIGURE_BODY = Body(dict, conversationId=Field(str, required=True),
                      assistantReplies=Field(str, required=True, choices=ASSISTANT_MODES))


def addresses_assistant(message: str) -> bool:
    """Whether a message calls the assistant by name: @assistant or @IA (any case)."""
    return bool(_MENTION.search(message))


def enter(store: stores.Store, user_id: str, conversation_id: str) -> stores.RoomAccess:
    """The user's access to a conversation they own or are a member of; 404 otherwise, as for no conversation."""
    access = store.room_access(user_id, conversation_id)
    if access is None:
        raise ConversationNotFound()
    return access


def label(messages: list[dict], owner_id: str, names: dict[str, str]) -> list[dict]:
    """The API's messages: each with `author` {"userId", "name"}; the store's author columns folded in."""
    labelled = []
    for message in messages:
        author_id, author_name = message.pop("authorId", None), message.pop("authorName", None)
        if message["role"] == "assistant":
            author = {"userId": None, "name": ASSISTANT_NAME}
        else:
            user = author_id or owner_id
            author = {"userId": user, "name": author_name or names.get(user, "")}
        labelled.append({**message, "author": author})
    return labelled


def in_context(messages: list[dict]) -> list[dict]:
    """A room's messages as the assistant reads them: each person's words under their name."""
    return [{**message, "content": f"{message['authorName']}: {message['content']}"}
            if message["role"] == "user" and message.get("authorName") else message for message in messages]


def post(history: History, body: dict, base_url: str) -> tuple[dict, int]:
    """Create an invitation (the owner, {"conversationId"}) or accept one ({"invite"}); (body, status)."""
    if history.caller.kind == "anonymous":
        raise SignInRequired()
    fields = POST_BODY.parse(body)
    if ("conversationId" in fields) == ("invite" in fields):
        raise ValidationFailed("body", "send either conversationId (to invite) or invite (to join)")
    if "invite" in fields:
        return _accept(history, fields["invite"]), 200
    conversation_id = canonical_uuid(fields["conversationId"], "conversationId")
    return _invite(history, conversation_id, fields.get("expiresInDays", INVITE_DAYS), base_url), 201


def _invite(history: History, conversation_id: str, days: int, base_url: str) -> dict:
    caller = history.caller
    token = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(days=days)

    def create(store):
        if enter(store, caller.user_id, conversation_id).role != "owner":
            raise OwnerOnly("Only the room's owner can invite people.")
        store.create_invite(caller.user_id, conversation_id, caller.name, token_hash(token),
                            expires.isoformat(timespec="microseconds"))
        log.note(event="room_invite_created")
        audit.record(history, "invitation_made", conversation_id, days=days)
        return {"invite": token, "url": f"{base_url}/?invite={token}",
                "expiresAt": expires.isoformat(timespec="seconds").replace("+00:00", "Z")}

    return history.run(create)


def _accept(history: History, invite: str) -> dict:
    if not _TOKEN.match(invite):
        raise InviteNotFound()

    def accept(store):
        joined = store.accept_invite(token_hash(invite), history.caller.user_id, history.caller.name)
        if joined is None:
            raise InviteNotFound()
        audit.record(history, "invitation_used", joined[0])
        return {"conversationId": joined[0], "role": joined[1]}

    return history.run(accept)


def members(history: History, conversation_id: str) -> dict:
    """The room's members, the owner first (a conversation not yet shared: its owner alone); `you`: the caller."""
    caller = history.caller

    def load(store):
        access = enter(store, caller.user_id, conversation_id)
        if not access.is_room:
            return {"members": [{"userId": caller.user_id, "name": caller.name, "role": "owner"}],
                    "you": caller.user_id}
        return {"members": store.members(access.owner_id, conversation_id), "you": caller.user_id}

    return history.run(load)


def remove(history: History, conversation_id: str, user_id: str) -> dict:
    """The owner removes a member, or a member leaves; the owner cannot leave (they delete the conversation)."""
    caller = history.caller

    def take_out(store):
        access = enter(store, caller.user_id, conversation_id)
        if user_id == caller.user_id and access.role == "owner":
            raise ValidationFailed("userId", "the owner cannot leave the room; delete the conversation instead")
        if user_id != caller.user_id and access.role != "owner":
            raise OwnerOnly("Only the room's owner can remove someone; you can remove yourself (leave).")
        if not store.remove_member(conversation_id, user_id):
            raise MemberNotFound()
        log.note(event="room_member_removed")
        audit.record(history, "member_left" if user_id == caller.user_id else "member_removed", conversation_id)
        return {"removed": True, "conversationId": conversation_id, "userId": user_id}

    return history.run(take_out)


def revoke(history: History, invite: str) -> dict:
    """The owner revokes an invitation; 404 invite_not_found for any other caller, or one already dead."""
    if not _TOKEN.match(invite):
        raise InviteNotFound()

    def cancel(store):
        if not store.revoke_invite(history.caller.user_id, token_hash(invite)):
            raise InviteNotFound()
        audit.record(history, "invitation_revoked")
        return {"revoked": True}

    return history.run(cancel)


def configure(history: History, body: dict) -> dict:
    """The owner sets when the assistant answers: "mentions" (when addressed) or "all" (every message)."""
    fields = CONFIGURE_BODY.parse(body)
    conversation_id = canonical_uuid(fields["conversationId"], "conversationId")
    mode = fields["assistantReplies"]

    def update(store):
        if enter(store, history.caller.user_id, conversation_id).role != "owner":
            raise OwnerOnly()
        store.set_assistant_replies(history.caller.user_id, conversation_id, mode)
        return {"conversationId": conversation_id, "assistantReplies": mode}

    return history.run(update)


def token_hash(token: str) -> str:
    """What the store keeps of an invitation token: its SHA-256, so a read of the table admits no one."""
    return hashlib.sha256(token.encode()).hexdigest()


def base_url(headers) -> str:
    """The dashboard's address as the caller reached it (Vercel sets X-Forwarded-Proto)."""
    scheme = (headers.get("X-Forwarded-Proto") or "http").split(",")[0].strip()
    scheme = scheme if scheme in ("http", "https") else "https"
    host = headers.get("X-Forwarded-Host") or headers.get("Host") or "localhost"
    return f"{scheme}://{host.split(',')[0].strip()}"

