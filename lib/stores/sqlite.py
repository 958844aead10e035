"""The embedded history store: SQLite at HISTORY_DB, the same shape and rules as the Supabase schema."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from lib.stores.base import ConversationNotFound, StoreUnavailable, Usage, checked_messages

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
  status text not null default 'complete' check (status in ('complete', 'interrupted')),
  source text not null default 'text' check (source in ('text', 'voice')),
  created_at text not null,
  foreign key (conversation_id, user_id) references conversations (id, user_id) on delete cascade
);
create index if not exists conversations_user_id_updated_at_idx on conversations (user_id, updated_at desc);
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
  created_at text not null
);
"""
# files made before messages had a source
ADD_SOURCE = ("alter table messages add column source text not null default 'text' "
              "check (source in ('text', 'voice'))")
_ready: set[str] = set()
_ready_lock = threading.Lock()
_writers: dict[str, threading.Lock] = {}  # per file: this process's history writers queue here, not in SQLite's
WRITE_WAIT_SECONDS = 30                    # busy handler, which can starve a writer under many threads


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SqliteStore:
    """One short connection per operation, so any thread may use it; writes are single transactions."""

    def __init__(self, path: str):
        self.path = path
        with _ready_lock:
            if path not in _ready:
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"SQLite: {type(exc).__name__}") from exc
                with self._connection() as db:
                    db.execute("pragma journal_mode = wal")
                    db.executescript(SCHEMA)
                    columns = {row["name"] for row in db.execute("pragma table_info(messages)")}
                    if "source" not in columns:
                        db.execute(ADD_SOURCE)
                _ready.add(path)
                _writers.setdefault(path, threading.Lock())

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

    def conversations(self, user_id, limit=100):
        with self._connection() as db:
            rows = db.execute("select id, title, created_at, updated_at from conversations where user_id = ? "
                              "order by updated_at desc limit ?", (user_id, limit)).fetchall()
        return [_conversation(row) for row in rows]

    def messages(self, user_id, conversation_id, newest=None):
        with self._connection() as db:
            rows = db.execute("select id, role, content, status, source, created_at from messages "
                              "where conversation_id = ? and user_id = ? order by id desc limit ?",
                              (conversation_id, user_id, -1 if newest is None else newest)).fetchall()
        return [_message(row) for row in reversed(rows)]

    def record_messages(self, user_id, conversation_id, title, messages):
        rows = checked_messages(messages)
        with self._writing() as db:  # one writer at a time: a deletion cannot slip in between the checks
            if db.execute("select 1 from deleted_conversations where id = ?", (conversation_id,)).fetchone():
                raise ConversationNotFound(conversation_id)
            now = _now()
            db.execute("insert or ignore into conversations (id, user_id, title, created_at, updated_at) "
                       "values (?, ?, ?, ?, ?)", (conversation_id, user_id, title[:200], now, now))
            owner = db.execute("select user_id from conversations where id = ?", (conversation_id,)).fetchone()
            if owner is None or owner[0] != user_id:
                raise ConversationNotFound(conversation_id)
            db.executemany(
                "insert into messages (conversation_id, user_id, role, content, status, source, created_at) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                [(conversation_id, user_id, m["role"], m["content"], m["status"], m["source"], now) for m in rows])
            db.execute("update conversations set updated_at = ? where id = ?", (now, conversation_id))

    def record_turn(self, user_id, conversation_id, title, user_text, assistant_text, status="complete"):
        self.record_messages(user_id, conversation_id, title, [
            {"role": "user", "content": user_text, "status": "complete"},
            {"role": "assistant", "content": assistant_text, "status": status}])

    def search(self, user_id, query, limit=50):
        # SQLite's LIKE folds ASCII case only: match on Python's lower() of both sides, as PostgreSQL's ilike does
        with self._connection() as db:
            db.create_function("fold", 1, lambda text: text.lower() if text is not None else None,
                               deterministic=True)
            rows = db.execute(
                "select c.id, c.title, c.created_at, c.updated_at, "
                "(select m.content from messages m where m.conversation_id = c.id and m.user_id = c.user_id "
                " and instr(fold(m.content), :q) > 0 order by m.id desc limit 1) as snippet "
                "from conversations c where c.user_id = :u and (instr(fold(c.title), :q) > 0 or exists "
                "(select 1 from messages m where m.conversation_id = c.id and m.user_id = c.user_id "
                " and instr(fold(m.content), :q) > 0)) order by c.updated_at desc limit :n",
                {"q": query.lower(), "u": user_id, "n": max(1, min(limit, 100))}).fetchall()
        return [{**_conversation(row), "snippet": row["snippet"]} for row in rows]

    def rename_conversation(self, user_id, conversation_id, title):
        with self._writing() as db:
            renamed = db.execute("update conversations set title = ? where id = ? and user_id = ?",
                                 (title[:200], conversation_id, user_id)).rowcount
        return renamed > 0

    def replace_reply(self, user_id, conversation_id, message_id, text, status="complete"):
        with self._writing() as db:  # the source column is left as it was: a voice reply stays a voice reply
            now = _now()
            replaced = db.execute(
                "update messages set content = ?, status = ?, created_at = ? where id = ? "
                "and conversation_id = ? and user_id = ? and role = 'assistant'",
                (text, status, now, message_id, conversation_id, user_id)).rowcount
            if not replaced:
                raise ConversationNotFound(conversation_id)
            db.execute("update conversations set updated_at = ? where id = ?", (now, conversation_id))

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

    def record_call(self, user_id, call_id, conversation_id):
        with self._connection() as db:
            db.execute("insert into realtime_calls (id, user_id, conversation_id, created_at) values (?, ?, ?, ?)",
                       (call_id, user_id, conversation_id, _now()))

    def call(self, user_id, call_id):
        with self._connection() as db:
            row = db.execute("select id, conversation_id, created_at from realtime_calls where id = ? and user_id = ?",
                             (call_id, user_id)).fetchone()
        return {"id": row[0], "conversationId": row[1], "createdAt": row[2]} if row else None

    def delete_conversation(self, user_id, conversation_id):
        with self._writing() as db:
            deleted = db.execute("delete from conversations where id = ? and user_id = ?",
                                 (conversation_id, user_id)).rowcount
            if deleted:
                db.execute("insert or ignore into deleted_conversations (id, deleted_at) values (?, ?)",
                           (conversation_id, _now()))
        return deleted > 0


def _conversation(row) -> dict:
    return {"id": row["id"], "title": row["title"], "createdAt": row["created_at"], "updatedAt": row["updated_at"]}


def _message(row) -> dict:
    return {"id": row["id"], "role": row["role"], "content": row["content"], "status": row["status"],
            "source": row["source"], "createdAt": row["created_at"]}
