"""A PostgREST stand-in over the real PostgreSQL: the subset of its HTTP API the Supabase store uses.

Each request runs in one transaction under the role its key maps to (service_role or anon), so the
migration's grants, policies and functions are what answer. Faults can be queued, as `fail_next(503)`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns"}


class PostgrestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "PostgrestStandIn"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def _serve(self, method: str):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        parts = urlsplit(self.path)
        self.server.record(method, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body)
        fault = self.server.take_fault()
        if fault:
            return self._reply(fault, {"code": "PGRST000", "message": "stand-in fault", "details": None, "hint": None})
        role = self.server.role_for(self.headers.get("apikey"))
        if role is None:
            return self._reply(401, {"code": "PGRST301", "message": "invalid key", "details": None, "hint": None})
        path = parts.path.removeprefix("/rest/v1/")
        query = parse_qsl(parts.query, keep_blank_values=True)
        try:
            with psycopg.connect(self.server.dsn) as db:
                db.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                if path.startswith("rpc/"):
                    status, payload = self._rpc(db, path[4:], body or {})
                else:
                    status, payload = self._table(db, method, path, query, body)
        except psycopg.Error as exc:
            state = exc.sqlstate or "XX000"
            status = 404 if state == "P0002" else 403 if state == "42501" else 409 if state.startswith("23") else 400
            return self._reply(status, {"code": state, "message": str(exc).splitlines()[0], "details": None,
                                        "hint": None})
        self._reply(status, payload)

    def _rpc(self, db, name: str, params: dict):
        kind = db.execute("select prorettype = 'void'::regtype, proretset from pg_proc where proname = %s",
                          (name,)).fetchone()
        if kind is None:
            return 404, {"code": "PGRST202", "message": f"no function {name}", "details": None, "hint": None}
        returns_void, returns_set = kind
        arguments = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(key), sql.Placeholder(key))
                                       for key in params)
        function = sql.SQL("{}.{}({})").format(sql.Identifier("public"), sql.Identifier(name), arguments)
        if returns_set:
            statement = sql.SQL("select coalesce(json_agg(t), '[]'::json) from {} t").format(function)
        else:
            statement = sql.SQL("select to_json({})").format(function) if not returns_void else sql.SQL(
                "select {}").format(function)
        value = db.execute(statement, params).fetchone()[0]
        return (204, None) if returns_void else (200, value)

    def _table(self, db, method: str, table: str, query: list[tuple[str, str]], body):
        options = dict((key, value) for key, value in query if key in RESERVED)
        conditions = [self._condition(key, value) for key, value in query if key not in RESERVED]
        where = sql.SQL(" and ").join(conditions) if conditions else sql.SQL("true")
        values = [value.split(".", 1)[1] for key, value in query if key not in RESERVED]
        columns = self._columns(options.get("select", "*"))
        target = sql.Identifier("public", table)
        if method == "GET":
            statement = sql.SQL("select {} from {} where {}").format(columns, target, where)
            if "order" in options:
                column, _, direction = options["order"].partition(".")
                statement += sql.SQL(" order by {} {}").format(
                    sql.Identifier(column), sql.SQL("desc" if direction.startswith("desc") else "asc"))
            if "limit" in options:
                statement += sql.SQL(" limit {}").format(sql.Literal(int(options["limit"])))
        elif method == "DELETE":
            statement = sql.SQL("delete from {} where {} returning *").format(target, where)
        elif method == "POST":
            rows = body if isinstance(body, list) else [body]
            names = list(rows[0])
            statement = sql.SQL("insert into {} ({}) select {} from jsonb_populate_recordset(null::{}, %s) "
                                "returning *").format(target, sql.SQL(", ").join(map(sql.Identifier, names)),
                                                      sql.SQL(", ").join(map(sql.Identifier, names)), target)
            values = [json.dumps(rows)]
        else:
            return 405, {"code": "PGRST", "message": "unsupported", "details": None, "hint": None}
        wrapped = sql.SQL("with t as ({}) select coalesce(json_agg(t), '[]'::json) from t").format(statement)
        return (201 if method == "POST" else 200), db.execute(wrapped, values).fetchone()[0]

    @staticmethod
    def _condition(key: str, value: str):
        operator, _, _ = value.partition(".")
        if operator not in OPERATORS:
            raise psycopg.errors.SyntaxError(f"unsupported filter {value}")
        return sql.SQL("{}::text {} %s").format(sql.Identifier(key), sql.SQL(OPERATORS[operator]))

    @staticmethod
    def _columns(select: str):
        if select == "*":
            return sql.SQL("*")
        return sql.SQL(", ").join(sql.Identifier(column.strip()) for column in select.split(","))

    def _reply(self, status: int, payload):
        data = b"" if status == 204 else json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class PostgrestStandIn(ThreadingHTTPServer):
    """Serves /rest/v1/... for one database, with a service role key and an anon key."""

    daemon_threads = True
    request_queue_size = 128  # bursts of connections: socketserver's 5 drops them
    SERVICE_KEY = "service-role-key-canary-8d1e"
    ANON_KEY = "anon-key-canary-2f7a"

    def __init__(self, dsn: str):
        super().__init__(("127.0.0.1", 0), PostgrestHandler)
        self.dsn = dsn
        self.requests: list[dict] = []
        self.faults: list[int] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def role_for(self, key: str | None) -> str | None:
        return {self.SERVICE_KEY: "service_role", self.ANON_KEY: "anon"}.get(key or "")

    def record(self, method, path, query, headers, body):
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})

    def fail_next(self, *statuses: int):
        with self._lock:
            self.faults.extend(statuses)

    def take_fault(self) -> int | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def start(self) -> "PostgrestStandIn":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self
