"""The firm's controls in the SQLite store: the audit trail, usage, retention, a person's export and erasure (the
same tables and rules as supabase/migrations/20261207300000_firm_controls.sql), and feedback on replies
(20261207500000_feedback.sql)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

CONTROLS_SCHEMA = """
create table if not exists audit_events (
  id integer primary key autoincrement,
  at text not null,
  kind text not null,
  actor text not null default '',
  target text not null default '',
  detail text not null default '{}'
);
create index if not exists audit_events_at_idx on audit_events (at);
create trigger if not exists audit_events_append_only before update on audit_events
begin
  select raise(abort, 'the audit trail is append-only');
end;
create table if not exists usage_daily (
  day text not null,
  user_id text not null,
  name text not null default '',
  model text not null default '',
  messages integer not null default 0,
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  reasoning_tokens integer not null default 0,
  voice_sessions integer not null default 0,
  voice_seconds integer not null default 0,
  refusals integer not null default 0,
  primary key (day, user_id, model)
);
create index if not exists usage_daily_user_id_idx on usage_daily (user_id);
create table if not exists message_feedback (
  message_id integer not null references messages (id) on delete cascade,
  user_id text not null,
  conversation_id text not null references conversations (id) on delete cascade,
  name text not null default '',
  rating text not null check (rating in ('up', 'down')),
  comment text not null default '',
  created_at text not null,
  updated_at text not null,
  primary key (message_id, user_id)
);
create index if not exists message_feedback_user_id_idx on message_feedback (user_id);
create index if not exists message_feedback_conversation_id_idx on message_feedback (conversation_id);
create index if not exists message_feedback_updated_at_idx on message_feedback (updated_at);
create trigger if not exists messages_forget_feedback after update of content on messages
when old.status <> 'writing'
begin
  delete from message_feedback where message_id = new.id;
end;
"""
USAGE_COUNTS = ("messages", "input_tokens", "output_tokens", "reasoning_tokens", "voice_sessions", "voice_seconds",
                "refusals")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SqliteControls:
    """Mixed into SqliteStore: uses its _connection(), _writing() and the module's clock."""

    def append_audit(self, kind: str, actor: str, target: str, detail: dict) -> None:
        with self._writing() as db:
            db.execute("insert into audit_events (at, kind, actor, target, detail) values (?, ?, ?, ?, ?)",
                       (_now(), kind, actor, target, json.dumps(detail, ensure_ascii=False)))

    def audit_events(self, since: str | None, until: str | None, kind: str | None, limit: int,
                     actor: str | None = None) -> list[dict]:
        with self._connection() as db:
            rows = db.execute(
                "select id, at, kind, actor, target, detail from audit_events where (? is null or at >= ?) "
                "and (? is null or at < ?) and (? is null or kind = ?) and (? is null or actor = ?) "
                "order by id desc limit ?", (since, since, until, until, kind, kind, actor, actor, limit)).fetchall()
        return [{"id": row[0], "at": row[1], "kind": row[2], "actor": row[3], "target": row[4],
                 "detail": json.loads(row[5])} for row in rows]

    def prune_audit(self, before: str) -> int:
        with self._writing() as db:
            return db.execute("delete from audit_events where at < ?", (before,)).rowcount

    def add_usage(self, day: str, user_id: str, name: str, model: str, **counts: int) -> None:
        values = [int(counts.get(column, 0)) for column in USAGE_COUNTS]
        with self._writing() as db:
            db.execute(
                f"insert into usage_daily (day, user_id, name, model, {', '.join(USAGE_COUNTS)}) "
                f"values (?, ?, ?, ?, {', '.join('?' for _ in USAGE_COUNTS)}) "
                "on conflict (day, user_id, model) do update set name = excluded.name, "
                + ", ".join(f"{column} = {column} + excluded.{column}" for column in USAGE_COUNTS),
                (day, user_id, name[:100], model, *values))

    def usage(self, first_day: str, last_day: str, user_id: str | None = None) -> list[dict]:
        with self._connection() as db:
            rows = db.execute("select * from usage_daily where day >= ? and day <= ? and (? is null or user_id = ?) "
                              "order by day, user_id, model", (first_day, last_day, user_id, user_id)).fetchall()
        return [dict(row) for row in rows]

    def prune_history(self, before: str) -> dict:
        with self._writing() as db:  # the one writer lock: a turn racing this lands before or after, never between
            ids = [row[0] for row in db.execute("select id from conversations where updated_at < ?", (before,))]
            db.executemany("delete from conversations where id = ?", [(i,) for i in ids])
            db.executemany("insert or ignore into deleted_conversations (id, deleted_at) values (?, ?)",
                           [(i, _now()) for i in ids])
            calls = db.execute("delete from realtime_calls where created_at < ?", (before,)).rowcount
            invitations = db.execute("delete from room_invitations where created_at < ?", (before,)).rowcount
            db.execute("delete from usage_daily where day < ?", (before[:10],))
        return {"conversations": len(ids), "calls": calls, "invitations": invitations}

    def export_user(self, user_id: str) -> dict:
        with self._connection() as db:
            conversations = [dict(row) for row in db.execute(
                "select id, title, created_at, updated_at from conversations where user_id = ? order by created_at",
                (user_id,))]
            for conversation in conversations:
                conversation["messages"] = [dict(row) for row in db.execute(
                    "select role, content, status, source, created_at, author_name from messages "
                    "where conversation_id = ? and user_id = ? and (role = 'assistant' or author_id is null "
                    "or author_id = ?) order by id", (conversation["id"], user_id, user_id))]
            room_messages = [dict(row) for row in db.execute(
                "select conversation_id, content, created_at from messages where author_id = ? and user_id <> ? "
                "and role = 'user' order by id", (user_id, user_id))]
        return {"conversations": conversations, "roomMessages": room_messages}

    def erase_user(self, user_id: str) -> dict:
        with self._writing() as db:
            ids = [row[0] for row in db.execute(
                "select id from conversations c where user_id = ? and not exists (select 1 from conversation_members m "
                "where m.conversation_id = c.id and m.user_id <> ?)", (user_id, user_id))]
            db.executemany("delete from conversations where id = ?", [(i,) for i in ids])
            db.executemany("insert or ignore into deleted_conversations (id, deleted_at) values (?, ?)",
                           [(i, _now()) for i in ids])
            db.execute("delete from messages where role = 'assistant' and exists (select 1 from messages q "
                       "where q.conversation_id = messages.conversation_id and q.role = 'user' and (q.author_id = ? or "
                       "(q.author_id is null and q.user_id = ?)) and q.id = (select max(p.id) from messages p "
                       "where p.conversation_id = messages.conversation_id and p.id < messages.id))", (user_id, user_id))
            messages = db.execute("delete from messages where role = 'user' and (author_id = ? or "
                                  "(author_id is null and user_id = ?))", (user_id, user_id)).rowcount
            db.execute("delete from conversation_members where user_id = ? and role = 'member'", (user_id,))
            db.execute("delete from realtime_calls where user_id = ?", (user_id,))
            db.execute("delete from usage_daily where user_id = ?", (user_id,))
        return {"conversations": len(ids), "messages": messages}

    def set_feedback(self, user_id: str, name: str, conversation_id: str, message_id: int, rating: str | None,
                     comment: str) -> bool:
        with self._writing() as db:
            rateable = db.execute(
                "select 1 from messages m join conversations c on c.id = m.conversation_id where m.id = ? "
                "and m.conversation_id = ? and m.role = 'assistant' and m.status <> 'writing' and (c.user_id = ? "
                "or exists (select 1 from conversation_members cm where cm.conversation_id = c.id "
                "and cm.user_id = ?))", (message_id, conversation_id, user_id, user_id)).fetchone()
            if not rateable:
                return False
            if rating is None:
                db.execute("delete from message_feedback where message_id = ? and user_id = ?", (message_id, user_id))
            else:
                now = _now()
                db.execute(
                    "insert into message_feedback (message_id, user_id, conversation_id, name, rating, comment, "
                    "created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (message_id, user_id) do "
                    "update set name = excluded.name, rating = excluded.rating, comment = excluded.comment, "
                    "updated_at = excluded.updated_at",
                    (message_id, user_id, conversation_id, name[:100], rating, comment, now, now))
        return True

    def feedback(self, user_id: str, conversation_id: str) -> list[dict]:
        with self._connection() as db:
            rows = db.execute("select message_id, rating, comment from message_feedback where user_id = ? "
                              "and conversation_id = ? order by message_id", (user_id, conversation_id)).fetchall()
        return [{"messageId": row[0], "rating": row[1], "comment": row[2]} for row in rows]

    def feedback_between(self, since: str, until: str, limit: int) -> list[dict]:
        with self._connection() as db:
            rows = db.execute(
                "select updated_at as at, rating, comment, name, user_id, conversation_id, message_id "
                "from message_feedback where updated_at >= ? and updated_at < ? order by updated_at desc limit ?",
                (since, until, limit)).fetchall()
        return [dict(row) for row in rows]

    def user_feedback(self, user_id: str) -> list[dict]:
        with self._connection() as db:
            rows = db.execute("select conversation_id, message_id, rating, comment, created_at, updated_at "
                              "from message_feedback where user_id = ? order by created_at", (user_id,)).fetchall()
        return [dict(row) for row in rows]

    def erase_feedback(self, user_id: str) -> int:
        with self._writing() as db:
            return db.execute("delete from message_feedback where user_id = ?", (user_id,)).rowcount
