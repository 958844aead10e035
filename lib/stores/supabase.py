"""The Supabase history store: its PostgREST API (`/rest/v1`) through our small client (lib/stores/rest.py), with
the service role key."""

from __future__ import annotations

import functools
import time

from lib.errors import ConversationNotFound, StoreUnavailable
from lib.stores.base import Reading, RoomAccess, Usage, checked_messages, page_of
from lib.stores.supabase_controls import SupabaseControls

CONVERSATION_COLUMNS = "id,title,created_at,updated_at"
MESSAGE_COLUMNS = "id,role,content,status,source,created_at,author_id,author_name"
PAGE = 1000  # PostgREST answers at most max_rows rows (Supabase's default: 1000); longer reads are paged


def shown(query):
    """THE READ FILTER (issue 27): a conversation's chosen branch, as the page shows it and the model reads it
    (supabase/migrations/20261207400000_answer_versions.sql; in SQL: `where shown`)."""
    return query.is_("shown", True)


@functools.lru_cache(maxsize=4)
def _client(url: str, key: str, timeout: float):
    """The PostgREST client for this project: our httpx client sets the timeout and pool; no retries."""
    from lib.stores.rest import Client

    return Client(f"{url.rstrip('/')}/rest/v1", key, timeout)


class SupabaseStore(SupabaseControls):
    """Every query names its user, so the service role never reads across users."""

    def __init__(self, url: str, key: str, timeout: float):
        self.client = _client(url, key, timeout)

    def _run(self, query):
        from lib.stores.rest import APIError

        try:
            return query.execute()
        except APIError as exc:
            if exc.code == "P0002":
                raise ConversationNotFound() from exc
            raise StoreUnavailable(f"PostgREST error {exc.code}") from exc
        except Exception as exc:  # noqa: BLE001 - httpx transport errors, bad answers
            raise StoreUnavailable(f"Supabase: {type(exc).__name__}") from exc

    def conversation(self, user_id, conversation_id):
        rows = self._run(self.client.table("conversations").select(CONVERSATION_COLUMNS)
                         .eq("id", conversation_id).eq("user_id", user_id).limit(1)).data
        return _conversation(rows[0]) if rows else None

    def conversations(self, user_id, limit=100, before=None):
        rows = self._run(_newest_first(self.client.table("conversations").select(CONVERSATION_COLUMNS)
                                       .eq("user_id", user_id), before).limit(limit)).data
        return [_conversation(row) for row in rows]

    def messages(self, user_id, conversation_id, newest=None, after=None):
        return self._messages(user_id, conversation_id, newest, after, shown)

    def _messages(self, user_id, conversation_id, newest=None, after=None, only=lambda query: query):
        """Keyset pages of at most PAGE rows (newest first when `newest` is given), so no read is cut at max_rows;
        only rows after message id `after` if given (the polling read), and those `only` keeps."""
        rows: list[dict] = []
        wanted = newest if newest is not None else float("inf")
        while len(rows) < wanted:
            size = int(min(PAGE, wanted - len(rows)))
            query = (only(self.client.table("messages").select(MESSAGE_COLUMNS)
                          .eq("conversation_id", conversation_id).eq("user_id", user_id))
                     .order("id", desc=newest is not None).limit(size))
            if newest is not None and rows:
                query = query.lt("id", rows[-1]["id"])
            floor = rows[-1]["id"] if newest is None and rows else after
            if floor is not None:
                query = query.gt("id", floor)
            page = self._run(query).data
            rows.extend(page)
            if len(page) < size:
                break
        if newest is not None:
            rows.reverse()
        return [_message(row) for row in rows]

    def record_messages(self, user_id, conversation_id, title, messages):
        self._run(self.client.rpc("record_messages", {
            "p_user_id": user_id, "p_conversation_id": conversation_id, "p_title": title[:200],
            "p_messages": checked_messages(messages),
        }))

    def record_turn(self, user_id, conversation_id, title, user_text, assistant_text, status="complete"):
        self.record_messages(user_id, conversation_id, title, [
            {"role": "user", "content": user_text, "status": "complete"},
            {"role": "assistant", "content": assistant_text, "status": status}])

    def search(self, user_id, query, limit=50, before=None):
        rows = self._run(self.client.rpc("search_history", {
            "p_user_id": user_id, "p_query": query, "p_limit": limit,
            "p_before_updated_at": before and before.updated_at.isoformat(), "p_before_id": before and before.id})).data
        return [{**_conversation(row), "snippet": row["snippet"]} for row in rows or []]

    def rename_conversation(self, user_id, conversation_id, title):
        return bool(self._run(self.client.rpc("rename_conversation", {
            "p_user_id": user_id, "p_conversation_id": conversation_id, "p_title": title[:200]})).data)

    def record_version(self, user_id, conversation_id, version_of, messages):
        self._run(self.client.rpc("record_version", {
            "p_user_id": user_id, "p_conversation_id": conversation_id, "p_version_of": version_of,
            "p_messages": checked_messages(messages)}))

    def choose_version(self, user_id, conversation_id, message_id):
        return self._rpc("choose_version", p_user_id=user_id, p_conversation_id=conversation_id,
                         p_message_id=message_id) is True

    def versions(self, user_id, conversation_id):
        rows = self._rpc("message_versions", p_user_id=user_id, p_conversation_id=conversation_id)
        return {row["id"]: row["ids"] for row in rows or []}

    def reserve_limits(self, buckets):
        from datetime import datetime

        rows = self._run(self.client.rpc("reserve_rate_limits", {
            "p_now": time.time(),  # the server's clock decides the windows, as in the other stores
            "p_subjects": [b.subject for b in buckets], "p_buckets": [b.name for b in buckets],
            "p_window_seconds": [b.window for b in buckets], "p_limits": [b.limit for b in buckets],
            "p_costs": [b.cost for b in buckets],
        })).data
        return [Usage(row["bucket"], row["allowed"], row["used"],
                      datetime.fromisoformat(row["reset_at"]).timestamp()) for row in rows]

    def settle_limits(self, charges):
        self._run(self.client.rpc("settle_rate_limits", {
            "p_subjects": [c.subject for c in charges], "p_buckets": [c.bucket for c in charges],
            "p_window_starts": [c.window_start for c in charges], "p_deltas": [c.delta for c in charges],
        }))

    def record_voice_call(self, user_id, call_id, conversation_id):
        self._run(self.client.table("realtime_calls").insert(
            {"id": call_id, "user_id": user_id, "conversation_id": conversation_id}))

    def voice_call(self, user_id, call_id):
        rows = self._run(self.client.table("realtime_calls").select("id,conversation_id,created_at,ended_at")
                         .eq("id", call_id).eq("user_id", user_id).limit(1)).data
        return ({"id": rows[0]["id"], "conversationId": rows[0]["conversation_id"],
                 "createdAt": rows[0]["created_at"], "endedAt": rows[0]["ended_at"]} if rows else None)

    def end_voice_call(self, user_id, call_id):
        from datetime import datetime, timezone

        now = datetime.fromtimestamp(time.time(), timezone.utc).isoformat()  # the server's clock, as for limits
        self._run(self.client.table("realtime_calls").update({"ended_at": now})
                  .eq("id", call_id).eq("user_id", user_id).is_("ended_at", "null"))

    def delete_conversation(self, user_id, conversation_id):
        deleted = self._run(self.client.rpc("delete_conversation", {
            "p_user_id": user_id, "p_conversation_id": conversation_id})).data
        return deleted is True

    def _rpc(self, name: str, **params):
        return self._run(self.client.rpc(name, params)).data

    def read(self, user_id, conversation_id, limit, after=None, before=None):
        found = self._rpc("conversation_read", p_user_id=user_id, p_conversation_id=conversation_id, p_after=after,
                          p_before=before, p_limit=limit)
        if not found:
            return None
        messages, more = page_of([_message(row) for row in found["messages"]], limit, after)
        access = RoomAccess(found["owner_id"], found["role"], found["is_room"], found["assistant_replies"])
        return Reading(access, _conversation(found["conversation"]), messages, found["members"], more)

    def room_access(self, user_id, conversation_id):
        rows = self._rpc("room_access", p_user_id=user_id, p_conversation_id=conversation_id)
        return RoomAccess(*(rows[0][k] for k in ("owner_id", "role", "is_room", "assistant_replies"))) if rows else None

    def rooms(self, user_id, limit=None, before=None):
        query = _newest_first(self.client.rpc("rooms_for", {"p_user_id": user_id}), before)
        rows = self._run(query if limit is None else query.limit(limit)).data
        return [{**_conversation(row), "role": row["role"], "members": row["members"] or []} for row in rows]

    def members(self, owner_id, conversation_id):
        rows = self._run(self.client.table("conversation_members").select("user_id,name,role")
                         .eq("conversation_id", conversation_id).order("joined_at")).data
        rows.sort(key=lambda row: row["role"] != "owner")
        return [{"userId": row["user_id"], "name": row["name"], "role": row["role"]} for row in rows]

    def create_room(self, owner_id, conversation_id, title, owner_name):
        self._rpc("create_room", p_owner_id=owner_id, p_conversation_id=conversation_id, p_title=title[:200],
                  p_owner_name=owner_name[:100])

    def create_invite(self, owner_id, conversation_id, owner_name, token_hash, expires_at, reusable=False):
        return self._rpc("create_room_invite", p_owner_id=owner_id, p_conversation_id=conversation_id,
                         p_owner_name=owner_name[:100], p_token_hash=token_hash, p_expires_at=expires_at,
                         p_reusable=reusable)

    def accept_invite(self, token_hash, user_id, name):
        rows = self._rpc("accept_room_invite", p_token_hash=token_hash, p_user_id=user_id, p_name=name[:100])
        return (rows[0]["conversation_id"], rows[0]["role"]) if rows else None

    def invites(self, owner_id, conversation_id):
        from datetime import datetime, timezone

        rows = self._run(self.client.table("room_invitations")
                         .select("id,created_at,expires_at,reusable,joined,created_by")
                         .eq("conversation_id", conversation_id).is_("revoked_at", "null")
                         .gt("expires_at", datetime.now(timezone.utc).isoformat()).order("created_at")).data
        return [{"id": row["id"], "createdAt": row["created_at"], "expiresAt": row["expires_at"],
                 "reusable": row["reusable"], "joined": row["joined"], "createdBy": row["created_by"] or owner_id}
                for row in rows if row["reusable"] or row["joined"] == 0]

    def revoke_invite(self, owner_id, token_hash):
        return bool(self._rpc("revoke_room_invite", p_owner_id=owner_id, p_token_hash=token_hash))

    def revoke_invite_id(self, owner_id, conversation_id, invite_id):
        return bool(self._rpc("revoke_room_invite_by_id", p_owner_id=owner_id, p_conversation_id=conversation_id,
                              p_invite_id=invite_id))

    def remove_member(self, conversation_id, user_id):
        return bool(self._rpc("remove_room_member", p_conversation_id=conversation_id, p_user_id=user_id))

    def set_assistant_replies(self, owner_id, conversation_id, mode):
        return bool(self._rpc("set_room_assistant", p_owner_id=owner_id, p_conversation_id=conversation_id,
                              p_mode=mode))

    def record_room_turn(self, owner_id, conversation_id, author_id, author_name, user_text, assistant_text,
                         status="complete"):
        self._rpc("record_room_turn", p_owner_id=owner_id, p_conversation_id=conversation_id, p_author_id=author_id,
                  p_author_name=author_name[:100], p_user_content=user_text, p_assistant_content=assistant_text,
                  p_status=status)

    def start_room_reply(self, owner_id, conversation_id, author_id, author_name, user_text):
        return self._rpc("start_room_reply", p_owner_id=owner_id, p_conversation_id=conversation_id,
                         p_author_id=author_id, p_author_name=author_name[:100], p_user_content=user_text)

    def update_room_reply(self, owner_id, conversation_id, reply_id, author_id, text, status):
        return self._rpc("update_room_reply", p_owner_id=owner_id, p_conversation_id=conversation_id,
                         p_reply_id=reply_id, p_author_id=author_id, p_content=text, p_status=status)

    def stop_room_replies(self, owner_id, conversation_id, asked_by):
        [row] = self._rpc("stop_room_replies", p_owner_id=owner_id, p_conversation_id=conversation_id,
                          p_asked_by=asked_by)
        return row["stopped"], row["others"]


def _newest_first(query, before):
    """The query's rows newest first (ties: the greater id first), only those after `before` in that order."""
    if before is not None:
        at = before.updated_at.isoformat()
        query = query.or_(f'updated_at.lt."{at}",and(updated_at.eq."{at}",id.lt.{before.id})')
    return query.order("updated_at", desc=True).order("id", desc=True)


def _conversation(row: dict) -> dict:
    return {"id": row["id"], "title": row["title"], "createdAt": row["created_at"], "updatedAt": row["updated_at"]}


def _message(row: dict) -> dict:
    return {"id": row["id"], "role": row["role"], "content": row["content"], "status": row["status"],
            "source": row["source"], "createdAt": row["created_at"], "authorId": row.get("author_id"),
            "authorName": row.get("author_name")}
