"""Feedback on the assistant's replies: each person's thumbs up or down and optional comment on a reply they can
read, kept for the firm (admins read it: GET /api/admin/feedback) and never sent to OpenAI."""

from __future__ import annotations

from datetime import date, timedelta

from lib import audit
from lib.admin import day_from
from lib.errors import ConversationNotFound, MessageNotFound, canonical_uuid
from lib.history import History
from lib.validate import Body, Field, storable

COMMENT_MAX_CHARS = 2000
MAX_ROWS = 1000
COLUMNS = ("at", "rating", "comment", "name", "user_id", "conversation_id", "message_id")
BODY = Body(dict, conversationId=Field(str, required=True),
            messageId=Field(int, required=True, minimum=1, maximum=2**53 - 1),
            rating=Field(str, required=True, nullable=True, choices=("up", "down")),
            comment=Field(str, nullable=True, max_length=COMMENT_MAX_CHARS))


def rate(history: History, data: dict) -> dict:
    """Set (or, with rating null, take back) the caller's rating of one assistant reply; 404 when the caller may
    not read the conversation or it has no such reply."""
    body = BODY.parse(data)
    conversation_id = canonical_uuid(body["conversationId"], "conversationId")
    rating = body.get("rating")
    comment = (storable(body.get("comment"), "comment") or "").strip() if rating else ""
    caller = history.caller

    def save(store):
        if store.room_access(caller.user_id, conversation_id) is None:
            raise ConversationNotFound()
        if not store.set_feedback(caller.user_id, caller.name or "", conversation_id, body["messageId"], rating,
                                  comment):
            raise MessageNotFound()

    history.run(save)
    return {"conversationId": conversation_id, "messageId": body["messageId"], "rating": rating, "comment": comment}


def of_conversation(history: History, conversation_id: str) -> dict:
    """The caller's ratings in a conversation they may read; 404 otherwise."""
    user_id = history.caller.user_id

    def load(store):
        if store.room_access(user_id, conversation_id) is None:
            raise ConversationNotFound()
        return store.feedback(user_id, conversation_id)

    return {"conversationId": conversation_id, "feedback": history.run(load)}


def report(history: History, query: dict[str, str], today: date | None = None) -> dict:
    """For admins: everyone's ratings from `from` to `to` (days, both included; default the last 30), newest first
    (at most 1000), with how many are up and down; reading it is audited."""
    today = today or date.today()
    first = day_from(query, "from", today - timedelta(days=30))
    last = day_from(query, "to", today)
    rows = history.run(lambda store: store.feedback_between(first.isoformat(), (last + timedelta(days=1)).isoformat(),
                                                            MAX_ROWS))
    audit.record(history, "admin_read", page="feedback")
    return {"from": first.isoformat(), "to": last.isoformat(),
            "up": sum(row["rating"] == "up" for row in rows), "down": sum(row["rating"] == "down" for row in rows),
            "feedback": rows}
