"""The firm's controls in the Supabase store: the audit trail, usage, retention, a person's export and erasure
(supabase/migrations/20261207300000_firm_controls.sql) and feedback on replies (20261207500000_feedback.sql),
through PostgREST with the service role key."""

from __future__ import annotations

PAGE = 1000  # PostgREST's max_rows on Supabase: longer reads are paged


class SupabaseControls:
    """Mixed into SupabaseStore: uses its client, _run() and _rpc()."""

    def append_audit(self, kind: str, actor: str, target: str, detail: dict) -> None:
        self._run(self.client.table("audit_events").insert(
            {"kind": kind, "actor": actor, "target": target, "detail": detail}, returning="minimal"))

    def audit_events(self, since: str | None, until: str | None, kind: str | None, limit: int,
                     actor: str | None = None) -> list[dict]:
        query = self.client.table("audit_events").select("id,at,kind,actor,target,detail")
        if since:
            query = query.gte("at", since)
        if until:
            query = query.lt("at", until)
        if kind:
            query = query.eq("kind", kind)
        if actor:
            query = query.eq("actor", actor)
        return self._run(query.order("id", desc=True).limit(min(limit, PAGE))).data

    def prune_audit(self, before: str) -> int:
        return len(self._run(self.client.table("audit_events").delete().lt("at", before)).data)

    def add_usage(self, day: str, user_id: str, name: str, model: str, **counts: int) -> None:
        self._rpc("add_usage", p_day=day, p_user_id=user_id, p_name=name[:100], p_model=model,
                  **{f"p_{column}": int(counts.get(column, 0)) for column in (
                      "messages", "input_tokens", "output_tokens", "reasoning_tokens", "voice_sessions",
                      "voice_seconds", "refusals")})

    def _all(self, query) -> list[dict]:
        """Every row of an ordered query, in pages of at most PAGE rows (none is cut at max_rows)."""
        rows: list[dict] = []
        while True:
            page = self._run(query.range(len(rows), len(rows) + PAGE - 1)).data
            rows.extend(page)
            if len(page) < PAGE:
                return rows

    def usage(self, first_day: str, last_day: str, user_id: str | None = None) -> list[dict]:
        query = (self.client.table("usage_daily").select("*").gte("day", first_day).lte("day", last_day)
                 .order("day").order("user_id").order("model"))
        return self._all(query.eq("user_id", user_id) if user_id else query)

    def prune_history(self, before: str) -> dict:
        return self._rpc("prune_history", p_before=before)

    def export_user(self, user_id: str) -> dict:
        conversations = self._all(self.client.table("conversations").select("id,title,created_at,updated_at")
                                  .eq("user_id", user_id).order("created_at").order("id"))
        for conversation in conversations:
            conversation["messages"] = [
                {"role": m["role"], "content": m["content"], "status": m["status"], "source": m["source"],
                 "created_at": m["createdAt"], "author_name": m["authorName"]}
                for m in self._messages(user_id, conversation["id"])  # every version: nothing kept is left out
                if m["role"] == "assistant" or m["authorId"] in (None, user_id)]
        room_messages = self._all(self.client.table("messages").select("conversation_id,content,created_at")
                                  .eq("author_id", user_id).neq("user_id", user_id).eq("role", "user").order("id"))
        return {"conversations": conversations, "roomMessages": room_messages}

    def erase_user(self, user_id: str) -> dict:
        return self._rpc("erase_user_data", p_user_id=user_id)

    def set_feedback(self, user_id: str, name: str, conversation_id: str, message_id: int, rating: str | None,
                     comment: str) -> bool:
        return bool(self._rpc("set_message_feedback", p_user_id=user_id, p_name=name[:100],
                              p_conversation_id=conversation_id, p_message_id=message_id, p_rating=rating,
                              p_comment=comment))

    def feedback(self, user_id: str, conversation_id: str) -> list[dict]:
        rows = self._all(self.client.table("message_feedback").select("message_id,rating,comment")
                         .eq("user_id", user_id).eq("conversation_id", conversation_id).order("message_id"))
        return [{"messageId": row["message_id"], "rating": row["rating"], "comment": row["comment"]} for row in rows]

    def feedback_between(self, since: str, until: str, limit: int) -> list[dict]:
        return self._run(self.client.table("message_feedback")
                         .select("at:updated_at,rating,comment,name,user_id,conversation_id,message_id")
                         .gte("updated_at", since).lt("updated_at", until).order("updated_at", desc=True)
                         .limit(min(limit, PAGE))).data

    def user_feedback(self, user_id: str) -> list[dict]:
        return self._all(self.client.table("message_feedback")
                         .select("conversation_id,message_id,rating,comment,created_at,updated_at")
                         .eq("user_id", user_id).order("created_at").order("message_id"))

    def erase_feedback(self, user_id: str) -> int:
        return len(self._run(self.client.table("message_feedback").delete().eq("user_id", user_id)).data)
