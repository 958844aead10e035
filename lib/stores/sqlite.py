"""The embedded history store: SQLite at HISTORY_DB, the same shape and rules as the Supabase schema."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from lib.errors import ConversationNotFound, StoreUnavailable
from lib.stores.base import Reading, RoomAccess, Usage, checked_messages, page_of
from lib.stores.sqlite_controls import CONTROLS_SCHEMA, SqliteControls

SCHEMA = """
create table if not exists conversations (
  id text primary key,
  user_id text not null,
  title text not null default '',
  created_at text not null,
  updated_at text not null,
  unique (id, user_id)
);
create table if not exists messages (
  id integer primary key autoincrement,
  conversation_id text not null,
  user_id text not null,
  role text not null check (role in ('user', 'assistant')),
  content text not null,
  status text not null default 'complete' check (status in ('complete', 'interrupted', 'writing')),
  source text not null default 'text' check (source in ('text', 'voice')),
  created_at text not null,
  foreign key (conversation_id, user_id) references conversations (id, user_id) on delete cascade
);
create index if not exists conversations_user_id_updated_at_id_idx on conversations (user_id, updated_at desc, id desc);
create index if not exists messages_user_id_idx on messages (user_id);
create index if not exists messages_conversation_id_user_id_id_idx on messages (conversation_id, user_id, id);
create table if not exists deleted_conversations (
  id text primary key,
  deleted_at text not null
);
create table if not exists rate_limits (
  subject text not null,
  bucket text not null,
  window_start integer not null,
  used integer not null default 0,
  primary key (subject, bucket, window_start)
);
create table if not exists realtime_calls (
  id text primary key,
  user_id text not null,
  conversation_id text not null,
  created_at text not null,
  ended_at text
);
"""
# files made before messages had a source
ADD_SOURCE = ("alter table messages add column source text not null default 'text' "
              "check (source in ('text', 'voice'))")
# Rooms (the same tables as supabase/migrations/20261130040000_rooms.sql), added to older files in place.
ROOMS_SCHEMA = """
create table if not exists conversation_members (
  conversation_id text not null references conversations (id) on delete cascade,
  user_id text not null,
  role text not null check (role in ('owner', 'member')),
  name text not null default '',
  joined_at text not null,
  primary key (conversation_id, user_id)
);
create index if not exists conversation_members_user_id_idx on conversation_members (user_id);
create table if not exists room_invitations (
  token_hash text primary key,
  conversation_id text not null references conversations (id) on delete cascade,
  created_at text not null,
  expires_at text not null,
  revoked_at text
);
create table if not exists room_departures (
  conversation_id text not null references conversations (id) on delete cascade,
  user_id text not null,
  left_at text not null,
  primary key (conversation_id, user_id)
);
"""
# Answer versions: a new row follows the last shown row before it (see _add_versions).
VERSIONS_SCHEMA = """
create index if not exists messages_conversation_id_user_id_parent_id_idx
  on messages (conversation_id, user_id, parent_id);
create trigger if not exists messages_follow_branch after insert on messages begin
  update messages set parent_id = (select max(p.id) from messages p where p.conversation_id = new.conversation_id
    and p.user_id = new.user_id and p.shown = 1 and p.id < new.id) where id = new.id;
end;
"""
# THE READ FILTER (issue 27): a conversation's rows as the page shows them and the model reads them, its chosen
# branch; every read of a conversation for either applies it (Supabase: the `shown` column alike).
SHOWN = "shown = 1"
CALL_COLUMNS = {"realtime_calls": {"ended_at": "text"}}  # added to older files in place, as the rooms' are
ROOM_COLUMNS = {
    "messages": {"author_id": "text", "author_name": "text"},
    "conversations": {"assistant_replies": "text not null default 'mentions' "
                                           "check (assistant_replies in ('mentions', 'all'))"},
    # supabase/migrations/20261207100000_rooms_trust.sql: invitations made before it admitted anyone (reusable)
    "room_invitations": {"id": "text", "reusable": "integer not null default 1", "created_by": "text",
                         "joined": "integer not null default 0"},
}
_ready: set[str] = set()
_ready_lock = threading.Lock()
_writers: dict[str, threading.Lock] = {}  # per file: this process's history writers queue here, not in SQLite's
WRITE_WAIT_SECONDS = 30                    # busy handler, which can starve a writer under many threads


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SqliteStore(SqliteControls):
    """One short connection per operation, so any thread may use it; every write is one immediate transaction,
    taken in turn through this process's writer lock (_writing)."""

    def __init__(self, path: str):
        self.path = path
        with _ready_lock:
            if path not in _ready:
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"SQLite: {type(exc).__name__}") from exc
                writer = _writers.setdefault(path, threading.Lock())
                with writer, self._connection() as db:  # the schema is written like any write: in turn
                    db.execute("pragma journal_mode = wal")
                    db.executescript(SCHEMA)
                    columns = {row["name"] for row in db.execute("pragma table_info(messages)")}
                    if "source" not in columns:
                        db.execute(ADD_SOURCE)
                    _add_room_tables(db)
                    _allow_writing_status(db)
                    _add_versions(db)
                    db.executescript(CONTROLS_SCHEMA)
                _ready.add(path)

    @contextmanager
    def _connection(self):
        try:
            with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
                db.row_factory = sqlite3.Row
                db.execute("pragma foreign_keys = on")
                yield db
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {type(exc).__name__}") from exc
        except OSError as exc:
            raise StoreUnavailable(f"SQLite: {type(exc).__name__}") from exc

    @contextmanager
    def _writing(self):
        """A connection inside an immediate write transaction, committed at the end, rolled back on error."""
        writer = _writers[self.path]
        if not writer.acquire(timeout=WRITE_WAIT_SECONDS):
            raise StoreUnavailable("SQLite: writers queue timed out")
        try:
            with self._connection() as db:
                db.execute("begin immediate")
                try:
                    yield db
                    db.execute("commit")
                except BaseException:
                    db.execute("rollback")
                    raise
        finally:
            writer.release()

    def conversation(self, user_id, conversation_id):
        with self._connection() as db:
            row = db.execute("select id, title, created_at, updated_at from conversations where id = ? and user_id = ?",
                             (conversation_id, user_id)).fetchone()
        return _conversation(row) if row else None

    def conversations(self, user_id, limit=100, before=None):
        with self._connection() as db:
            rows = db.execute("select id, title, created_at, updated_at from conversations where user_id = ? "
                              f"{_KEYSET.format(c='')} order by updated_at desc, id desc limit ?",
                              (user_id, *_keyset(before), limit)).fetchall()
        return [_conversation(row) for row in rows]

    def messages(self, user_id, conversation_id, newest=None, after=None):
        with self._connection() as db:
            rows = db.execute("select id, role, content, status, source, created_at, author_id, author_name "
                              f"from messages where conversation_id = ? and user_id = ? and {SHOWN} and id > ? "
                              "order by id desc limit ?",
                              (conversation_id, user_id, -1 if after is None else after,
                               -1 if newest is None else newest)).fetchall()
        return [_message(row) for row in reversed(rows)]

    def read(self, user_id, conversation_id, limit, after=None, before=None):
        with self._connection() as db:
            db.execute("begin")  # one snapshot for the access, the page and the members
            try:
                row = db.execute(
                    "select c.id, c.title, c.created_at, c.updated_at, c.user_id as owner_id, c.assistant_replies, "
                    "case when c.user_id = ? then 'owner' else m.role end as role, "
                    "exists (select 1 from conversation_members o where o.conversation_id = c.id) as is_room "
                    "from conversations c left join conversation_members m on m.conversation_id = c.id "
                    "and m.user_id = ? where c.id = ? and (c.user_id = ? or m.user_id is not null)",
                    (user_id, user_id, conversation_id, user_id)).fetchone()
                if row is None:
                    return None
                columns = ("select id, role, content, status, source, created_at, author_id, author_name "
                           f"from messages where conversation_id = ? and user_id = ? and {SHOWN} ")
                if after is not None:
                    rows = db.execute(columns + "and id > ? order by id limit ?",
                                      (conversation_id, row["owner_id"], after, limit + 1)).fetchall()
                else:
                    rows = db.execute(columns + "and id < ? order by id desc limit ?",
                                      (conversation_id, row["owner_id"], 2 ** 63 - 1 if before is None else before,
                                       limit + 1)).fetchall()[::-1]
                members = self._members(db, conversation_id) if row["is_room"] else None
            finally:
                db.execute("rollback")
        messages, more = page_of([_message(r) for r in rows], limit, after)
        access = RoomAccess(row["owner_id"], row["role"], bool(row["is_room"]), row["assistant_replies"])
        return Reading(access, _conversation(row), messages, members, more)

    def record_messages(self, user_id, conversation_id, title, messages):
        rows = checked_messages(messages)
        with self._writing() as db:  # one writer at a time: a deletion cannot slip in between the checks
            _record(db, user_id, conversation_id, title, rows)

    def record_version(self, user_id, conversation_id, version_of, messages):
        rows = checked_messages(messages)
        with self._writing() as db:  # as supabase/migrations/20261207400000_answer_versions.sql's record_version
            found = db.execute(f"select parent_id from messages where id = ? and conversation_id = ? and user_id = ? "
                               f"and {SHOWN} and role = ?",
                               (version_of, conversation_id, user_id, rows[0]["role"])).fetchone()
            if found is None:
                raise ConversationNotFound()
            db.execute("update messages set chosen = 0 where conversation_id = ? and user_id = ? "
                       "and coalesce(parent_id, 0) = coalesce(?, 0)", (conversation_id, user_id, found[0]))
            db.execute(f"update messages set shown = 0 where conversation_id = ? and user_id = ? and {SHOWN} "
                       "and id >= ?", (conversation_id, user_id, version_of))
            _record(db, user_id, conversation_id, "", rows)

    def choose_version(self, user_id, conversation_id, message_id):
        with self._writing() as db:
            found = db.execute("select parent_id from messages where id = ? and conversation_id = ? and user_id = ?",
                               (message_id, conversation_id, user_id)).fetchone()
            if found is None:
                return False
            db.execute(  # it and each of its ancestors become the chosen one among their siblings
                "with recursive up (id, parent_id) as (select :m, :p union all select m.id, m.parent_id "
                "from messages m join up on m.id = up.parent_id where m.conversation_id = :c and m.user_id = :u) "
                "update messages set chosen = (id in (select id from up)) where conversation_id = :c and user_id = :u "
                "and coalesce(parent_id, 0) in (select coalesce(parent_id, 0) from up)",
                {"m": message_id, "p": found[0], "c": conversation_id, "u": user_id})
            db.execute(
                "with recursive branch (id) as ("
                " select id from messages where conversation_id = :c and user_id = :u and parent_id is null and chosen"
                " union all select m.id from messages m join branch b on m.parent_id = b.id"
                " where m.conversation_id = :c and m.user_id = :u and m.chosen) "
                "update messages set shown = (id in (select id from branch)) "
                "where conversation_id = :c and user_id = :u", {"c": conversation_id, "u": user_id})
        return True

    def versions(self, user_id, conversation_id):
        with self._connection() as db:
            rows = db.execute(
                "select m.id, group_concat(s.id) from messages m join messages s "
                "on s.conversation_id = m.conversation_id and s.user_id = m.user_id "
                "and coalesce(s.parent_id, 0) = coalesce(m.parent_id, 0) "
                "where m.conversation_id = ? and m.user_id = ? and m.shown = 1 group by m.id having count(*) > 1",
                (conversation_id, user_id)).fetchall()
        return {row[0]: sorted(int(i) for i in row[1].split(",")) for row in rows}

    def record_turn(self, user_id, conversation_id, title, user_text, assistant_text, status="complete"):
        self.record_messages(user_id, conversation_id, title, [
            {"role": "user", "content": user_text, "status": "complete"},
            {"role": "assistant", "content": assistant_text, "status": status}])

    def search(self, user_id, query, limit=50, before=None):
        # SQLite's LIKE folds ASCII case only: match on Python's lower() of both sides, as PostgreSQL's ilike does
        with self._connection() as db:
            db.create_function("fold", 1, lambda text: text.lower() if text is not None else None,
                               deterministic=True)
            rows = db.execute(
                "select c.id, c.title, c.created_at, c.updated_at, "
                "(select m.content from messages m where m.conversation_id = c.id and m.user_id = c.user_id "
                f" and {SHOWN} and instr(fold(m.content), :q) > 0 order by m.id desc limit 1) as snippet "
                "from conversations c where c.id in (select id from conversations where user_id = :u union all "
                "select conversation_id from conversation_members where user_id = :u and role = 'member') "
                "and (instr(fold(c.title), :q) > 0 or exists "
                "(select 1 from messages m where m.conversation_id = c.id and m.user_id = c.user_id "
                f" and {SHOWN} and instr(fold(m.content), :q) > 0)) "
                "and (:t is null or (c.updated_at, c.id) < (:t, :i)) order by c.updated_at desc, c.id desc limit :n",
                {"q": query.lower(), "u": user_id, "n": max(1, min(limit, 101)),
                 **dict(zip("xti", _keyset(before)))}).fetchall()
        return [{**_conversation(row), "snippet": row["snippet"]} for row in rows]

    def rename_conversation(self, user_id, conversation_id, title):
        with self._writing() as db:
            renamed = db.execute("update conversations set title = ? where id = ? and user_id = ?",
                                 (title[:200], conversation_id, user_id)).rowcount
        return renamed > 0

    def reserve_limits(self, buckets):
        now = time.time()
        starts = [int(now // bucket.window * bucket.window) for bucket in buckets]
        keys = [(bucket.subject, bucket.name, start) for bucket, start in zip(buckets, starts)]
        with self._writing() as db:  # checking every bucket and adding are one step
            used = [(db.execute("select used from rate_limits where subject = ? and bucket = ? "
                                "and window_start = ?", key).fetchone() or (0,))[0] for key in keys]
            fits = all(count < bucket.limit for count, bucket in zip(used, buckets))
            if fits:
                db.executemany(
                    "insert into rate_limits (subject, bucket, window_start, used) values (?, ?, ?, ?) "
                    "on conflict (subject, bucket, window_start) do update set used = used + excluded.used",
                    [(*key, bucket.cost) for key, bucket in zip(keys, buckets)])
                used = [count + bucket.cost for count, bucket in zip(used, buckets)]
            db.execute("delete from rate_limits where window_start < ?", (int(now) - 2 * 86400,))
        return [Usage(bucket.name, fits or count < bucket.limit, count, start + bucket.window)
                for bucket, count, start in zip(buckets, used, starts)]

    def settle_limits(self, charges):
        with self._writing() as db:
            db.executemany("update rate_limits set used = max(used + ?, 0) "
                           "where subject = ? and bucket = ? and window_start = ?",
                           [(c.delta, c.subject, c.bucket, c.window_start) for c in charges])

    def record_voice_call(self, user_id, call_id, conversation_id):
        with self._writing() as db:
            db.execute("insert into realtime_calls (id, user_id, conversation_id, created_at) values (?, ?, ?, ?)",
                       (call_id, user_id, conversation_id, _now()))

    def voice_call(self, user_id, call_id):
        with self._connection() as db:
            row = db.execute("select id, conversation_id, created_at, ended_at from realtime_calls "
                             "where id = ? and user_id = ?", (call_id, user_id)).fetchone()
        return {"id": row[0], "conversationId": row[1], "createdAt": row[2], "endedAt": row[3]} if row else None

    def end_voice_call(self, user_id, call_id):
        with self._writing() as db:
            db.execute("update realtime_calls set ended_at = ? where id = ? and user_id = ? and ended_at is null",
                       (_now(), call_id, user_id))

    def delete_conversation(self, user_id, conversation_id):
        with self._writing() as db:
            deleted = db.execute("delete from conversations where id = ? and user_id = ?",
                                 (conversation_id, user_id)).rowcount
            if deleted:
                db.execute("insert or ignore into deleted_conversations (id, deleted_at) values (?, ?)",
                           (conversation_id, _now()))
        return deleted > 0

    def room_access(self, user_id, conversation_id):
        with self._connection() as db:
            row = db.execute(
                "select c.user_id, case when c.user_id = ? then 'owner' else m.role end, "
                "exists (select 1 from conversation_members o where o.conversation_id = c.id), c.assistant_replies "
                "from conversations c left join conversation_members m on m.conversation_id = c.id and m.user_id = ? "
                "where c.id = ? and (c.user_id = ? or m.user_id is not null)",
                (user_id, user_id, conversation_id, user_id)).fetchone()
        return RoomAccess(row[0], row[1], bool(row[2]), row[3]) if row else None

    def rooms(self, user_id, limit=None, before=None):
        with self._connection() as db:
            rows = db.execute("select c.id, c.title, c.created_at, c.updated_at, me.role from conversation_members me "
                              "join conversations c on c.id = me.conversation_id where me.user_id = ? "
                              f"{_KEYSET.format(c='c.')} order by c.updated_at desc, c.id desc limit ?",
                              (user_id, *_keyset(before), -1 if limit is None else limit)).fetchall()
            return [{**_conversation(row), "role": row["role"], "members": self._members(db, row["id"])}
                    for row in rows]

    def members(self, owner_id, conversation_id):
        with self._connection() as db:
            return self._members(db, conversation_id)

    @staticmethod
    def _members(db, conversation_id):
        rows = db.execute("select user_id, name, role from conversation_members where conversation_id = ? "
                          "order by role desc, joined_at", (conversation_id,)).fetchall()
        return [{"userId": row[0], "name": row[1], "role": row[2]} for row in rows]

    def create_room(self, owner_id, conversation_id, title, owner_name):
        with self._writing() as db:
            if db.execute("select 1 from deleted_conversations where id = ?", (conversation_id,)).fetchone():
                raise ConversationNotFound()
            now = _now()
            db.execute("insert into conversations (id, user_id, title, created_at, updated_at) values (?, ?, ?, ?, ?)",
                       (conversation_id, owner_id, title[:200], now, now))
            db.execute("insert into conversation_members (conversation_id, user_id, role, name, joined_at) "
                       "values (?, ?, 'owner', ?, ?)", (conversation_id, owner_id, owner_name[:100], now))

    def create_invite(self, owner_id, conversation_id, owner_name, token_hash, expires_at, reusable=False):
        with self._writing() as db:
            if db.execute("select 1 from conversations where id = ? and user_id = ?",
                          (conversation_id, owner_id)).fetchone() is None:
                raise ConversationNotFound()
            now = _now()
            db.execute("insert into conversation_members (conversation_id, user_id, role, name, joined_at) "
                       "values (?, ?, 'owner', ?, ?) on conflict (conversation_id, user_id) "
                       "do update set name = excluded.name", (conversation_id, owner_id, owner_name[:100], now))
            invite_id = str(uuid.uuid4())
            db.execute("insert into room_invitations (token_hash, conversation_id, created_at, expires_at, id, "
                       "reusable, created_by) values (?, ?, ?, ?, ?, ?, ?)",
                       (token_hash, conversation_id, now, expires_at, invite_id, int(reusable), owner_id))
        return invite_id

    def accept_invite(self, token_hash, user_id, name):
        with self._writing() as db:
            row = db.execute("select conversation_id, reusable, joined, created_at from room_invitations "
                             "where token_hash = ? and revoked_at is null and expires_at > ?",
                             (token_hash, _now())).fetchone()
            if row is None:
                return None
            conversation_id = row[0]
            member = db.execute("select role from conversation_members where conversation_id = ? and user_id = ?",
                                (conversation_id, user_id)).fetchone()
            if member is not None:  # a member (or the owner) re-entering stays what they are
                db.execute("update conversation_members set name = ? where conversation_id = ? and user_id = ?",
                           (name[:100], conversation_id, user_id))
                return conversation_id, member[0]
            left = db.execute("select 1 from room_departures where conversation_id = ? and user_id = ? "
                              "and left_at >= ?", (conversation_id, user_id, row[3])).fetchone()
            if (not row[1] and row[2] > 0) or left:
                return None
            db.execute("insert into conversation_members (conversation_id, user_id, role, name, joined_at) "
                       "values (?, ?, 'member', ?, ?)", (conversation_id, user_id, name[:100], _now()))
            db.execute("update room_invitations set joined = joined + 1 where token_hash = ?", (token_hash,))
            return conversation_id, "member"

    def invites(self, owner_id, conversation_id):
        with self._connection() as db:
            rows = db.execute("select id, created_at, expires_at, reusable, joined, created_by from room_invitations "
                              "where conversation_id = ? and revoked_at is null and expires_at > ? "
                              "and (reusable or joined = 0) order by created_at",
                              (conversation_id, _now())).fetchall()
        return [{"id": row[0], "createdAt": row[1], "expiresAt": row[2], "reusable": bool(row[3]),
                 "joined": row[4], "createdBy": row[5] or owner_id} for row in rows]

    def revoke_invite_id(self, owner_id, conversation_id, invite_id):
        with self._writing() as db:
            changed = db.execute(
                "update room_invitations set revoked_at = ? where id = ? and conversation_id = ? and "
                "revoked_at is null and conversation_id in (select id from conversations where user_id = ?)",
                (_now(), invite_id, conversation_id, owner_id)).rowcount
        return changed > 0

    def revoke_invite(self, owner_id, token_hash):
        with self._writing() as db:
            changed = db.execute(
                "update room_invitations set revoked_at = ? where token_hash = ? and revoked_at is null and "
                "conversation_id in (select id from conversations where user_id = ?)",
                (_now(), token_hash, owner_id)).rowcount
        return changed > 0

    def remove_member(self, conversation_id, user_id):
        with self._writing() as db:
            removed = db.execute("delete from conversation_members where conversation_id = ? and user_id = ? "
                                 "and role = 'member'", (conversation_id, user_id)).rowcount
            if removed:
                db.execute("insert into room_departures (conversation_id, user_id, left_at) values (?, ?, ?) "
                           "on conflict (conversation_id, user_id) do update set left_at = excluded.left_at",
                           (conversation_id, user_id, _now()))
        return removed > 0

    def set_assistant_replies(self, owner_id, conversation_id, mode):
        with self._writing() as db:
            changed = db.execute("update conversations set assistant_replies = ? where id = ? and user_id = ?",
                                 (mode, conversation_id, owner_id)).rowcount
        return changed > 0

    def record_room_turn(self, owner_id, conversation_id, author_id, author_name, user_text, assistant_text,
                         status="complete"):
        with self._writing() as db:
            allowed = db.execute(
                "select 1 from conversations c where c.id = ? and c.user_id = ? and (? = c.user_id or exists ("
                "select 1 from conversation_members m where m.conversation_id = c.id and m.user_id = ?))",
                (conversation_id, owner_id, author_id, author_id)).fetchone()
            if allowed is None:
                raise ConversationNotFound()
            now = _now()
            db.execute("insert into messages (conversation_id, user_id, role, content, status, created_at, author_id, "
                       "author_name) values (?, ?, 'user', ?, 'complete', ?, ?, ?)",
                       (conversation_id, owner_id, user_text, now, author_id, author_name[:100]))
            if assistant_text is not None:
                db.execute("insert into messages (conversation_id, user_id, role, content, status, created_at) "
                           "values (?, ?, 'assistant', ?, ?, ?)",
                           (conversation_id, owner_id, assistant_text, status, now))
            db.execute("update conversations set updated_at = ? where id = ?", (now, conversation_id))

    def start_room_reply(self, owner_id, conversation_id, author_id, author_name, user_text):
        with self._writing() as db:
            if not _may_write(db, owner_id, conversation_id, author_id):
                raise ConversationNotFound()
            now = _now()
            db.execute("insert into messages (conversation_id, user_id, role, content, status, created_at, author_id, "
                       "author_name) values (?, ?, 'user', ?, 'complete', ?, ?, ?)",
                       (conversation_id, owner_id, user_text, now, author_id, author_name[:100]))
            reply_id = db.execute(
                "insert into messages (conversation_id, user_id, role, content, status, created_at, author_id) "
                "values (?, ?, 'assistant', '', 'writing', ?, ?)",
                (conversation_id, owner_id, now, author_id)).lastrowid
            db.execute("update conversations set updated_at = ? where id = ?", (now, conversation_id))
        return reply_id

    def update_room_reply(self, owner_id, conversation_id, reply_id, author_id, text, status):
        with self._writing() as db:
            where = ("where id = ? and conversation_id = ? and user_id = ? and role = 'assistant' "
                     "and status = 'writing'")
            key = (reply_id, conversation_id, owner_id)
            if status == "failed" or not _may_write(db, owner_id, conversation_id, author_id):
                db.execute(f"delete from messages {where}", key)
                return "stopped" if status == "failed" else "gone"
            if not db.execute(f"update messages set content = ?, status = ? {where}", (text, status, *key)).rowcount:
                return "stopped"
            if status != "writing":
                db.execute("update conversations set updated_at = ? where id = ?", (_now(), conversation_id))
        return "ok"

    def stop_room_replies(self, owner_id, conversation_id, asked_by):
        with self._writing() as db:
            stopped = db.execute(
                "update messages set status = 'interrupted' where conversation_id = ? and user_id = ? "
                "and role = 'assistant' and status = 'writing' and (? is null or author_id = ?)",
                (conversation_id, owner_id, asked_by, asked_by)).rowcount
            others = db.execute("select count(*) from messages where conversation_id = ? and user_id = ? "
                                "and status = 'writing'", (conversation_id, owner_id)).fetchone()[0]
        return stopped, others


def _record(db, user_id, conversation_id, title, rows) -> None:
    """Store checked messages in order, creating the conversation if new, inside the caller's write transaction."""
    if db.execute("select 1 from deleted_conversations where id = ?", (conversation_id,)).fetchone():
        raise ConversationNotFound()
    now = _now()
    db.execute("insert or ignore into conversations (id, user_id, title, created_at, updated_at) "
               "values (?, ?, ?, ?, ?)", (conversation_id, user_id, title[:200], now, now))
    owner = db.execute("select user_id from conversations where id = ?", (conversation_id,)).fetchone()
    if owner is None or owner[0] != user_id:
        raise ConversationNotFound()
    db.executemany(
        "insert into messages (conversation_id, user_id, role, content, status, source, created_at) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [(conversation_id, user_id, m["role"], m["content"], m["status"], m["source"], now) for m in rows])
    db.execute("update conversations set updated_at = ? where id = ?", (now, conversation_id))


def _may_write(db, owner_id, conversation_id, author_id) -> bool:
    """Whether the author is the conversation's owner or a member of its room, now."""
    return db.execute(
        "select 1 from conversations c where c.id = ? and c.user_id = ? and (? = c.user_id or exists ("
        "select 1 from conversation_members m where m.conversation_id = c.id and m.user_id = ?))",
        (conversation_id, owner_id, author_id, author_id)).fetchone() is not None


def _allow_writing_status(db) -> None:
    """Files made before replies were stored while written: rebuild messages with the 'writing' status allowed
    (SQLite cannot alter a check constraint)."""
    sql = db.execute("select sql from sqlite_master where type = 'table' and name = 'messages'").fetchone()[0]
    if "'writing'" in sql:
        return
    db.execute("begin immediate")
    db.execute(re.sub(r"\bmessages\b", "messages_rebuilt", sql, count=1)
               .replace("('complete', 'interrupted')", "('complete', 'interrupted', 'writing')"))
    columns = ", ".join(row[1] for row in db.execute("pragma table_info(messages)"))
    db.execute(f"insert into messages_rebuilt ({columns}) select {columns} from messages")
    db.execute("drop table messages")
    db.execute("alter table messages_rebuilt rename to messages")
    for index in re.findall(r"create index if not exists messages_[^;]+", SCHEMA):
        db.execute(index)  # dropped with the old table
    db.execute("commit")


def _add_versions(db) -> None:
    """Answer versions (supabase/migrations/20261207400000_answer_versions.sql): the columns, rows stored before
    each following the one before it, and the trigger that makes every new row follow the shown branch."""
    present = {row[1] for row in db.execute("pragma table_info(messages)")}
    if "shown" not in present:
        db.execute("begin immediate")
        db.execute("alter table messages add column parent_id integer")
        db.execute("alter table messages add column chosen integer not null default 1")
        db.execute("alter table messages add column shown integer not null default 1")
        db.execute("update messages set parent_id = (select max(p.id) from messages p where p.conversation_id = "
                   "messages.conversation_id and p.user_id = messages.user_id and p.id < messages.id)")
        db.execute("commit")
    db.executescript(VERSIONS_SCHEMA)


def _add_room_tables(db) -> None:
    db.executescript(ROOMS_SCHEMA)
    for table, columns in {**ROOM_COLUMNS, **CALL_COLUMNS}.items():
        present = {row[1] for row in db.execute(f"pragma table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                db.execute(f"alter table {table} add column {name} {kind}")
    for (token_hash,) in db.execute("select token_hash from room_invitations where id is null").fetchall():
        db.execute("update room_invitations set id = ? where token_hash = ?", (str(uuid.uuid4()), token_hash))


_KEYSET = "and (? is null or ({c}updated_at, {c}id) < (?, ?))"


def _keyset(before) -> tuple:
    """A page's (updatedAt, id) bound as _KEYSET's three parameters, in the stored timestamps' text form."""
    if before is None:
        return None, None, None
    at = before[0].astimezone(timezone.utc).isoformat(timespec="microseconds")
    return at, at, before[1]


def _conversation(row) -> dict:
    return {"id": row["id"], "title": row["title"], "createdAt": row["created_at"], "updatedAt": row["updated_at"]}


def _message(row) -> dict:
    return {"id": row["id"], "role": row["role"], "content": row["content"], "status": row["status"],
            "source": row["source"], "createdAt": row["created_at"], "authorId": row["author_id"],
            "authorName": row["author_name"]}
