"""A small PostgREST client over httpx: the queries the Supabase store makes, as postgrest-py builds them, without
its pydantic models (~0.2 s of every Supabase-backed cold start)."""

from __future__ import annotations

import orjson


class APIError(Exception):
    """PostgREST's error answer: its `code` (a PostgreSQL SQLSTATE, or PGRSTnnn) and message."""

    def __init__(self, status: int, body: object):
        error = body if isinstance(body, dict) else {}
        self.status, self.code = status, str(error.get("code") or status)
        super().__init__(f"{self.code}: {error.get('message') or body}")


class Result:
    """What execute() returns: the answer's JSON (`data`), None for an empty answer."""

    def __init__(self, data):
        self.data = data


class Client:
    """PostgREST at `base` (`…/rest/v1`), with the service role key as `apiKey` and bearer, as supabase-py sends it."""

    def __init__(self, base: str, key: str, timeout: float):
        import httpx

        self.base = base.rstrip("/")
        # Every connection kept open: httpx keeps 20 by default, so a busy instance reconnected the rest each time.
        pool = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        self.http = httpx.Client(timeout=httpx.Timeout(timeout), limits=pool,
                                 headers={"apiKey": key, "Authorization": f"Bearer {key}",
                                          "Accept": "application/json", "Content-Type": "application/json"})

    def table(self, name: str) -> "Query":
        return Query(self, name)

    def rpc(self, name: str, params: dict) -> "Query":
        query = Query(self, f"rpc/{name}")
        query.method, query.body = "POST", params
        return query

    def send(self, method: str, path: str, params: list, body, prefer: str | None) -> Result:
        headers = {"Prefer": prefer} if prefer else None
        content = orjson.dumps(body) if body is not None else None
        answer = self.http.request(method, f"{self.base}/{path}", params=params, content=content, headers=headers)
        data = orjson.loads(answer.content) if answer.content.strip() else None
        if not 200 <= answer.status_code < 300:
            raise APIError(answer.status_code, data)
        return Result(data)


class Query:
    """One request built as postgrest-py's builder does (select, filters, order, limit, range; insert, update,
    delete; rpc), sent by execute()."""

    def __init__(self, client: Client, path: str):
        self.client, self.path = client, path
        self.method, self.body, self.prefer = "GET", None, None
        self.params: list[tuple[str, str]] = []
        self._order: list[str] = []

    def select(self, columns: str) -> "Query":
        self.params.append(("select", columns))
        return self

    def insert(self, row: dict, returning: str = "representation") -> "Query":
        self.method, self.body, self.prefer = "POST", row, f"return={returning}"
        return self

    def update(self, row: dict) -> "Query":
        self.method, self.body, self.prefer = "PATCH", row, "return=representation"
        return self

    def delete(self) -> "Query":
        self.method, self.prefer = "DELETE", "return=representation"
        return self

    def _filter(self, column: str, operator: str, value) -> "Query":
        if isinstance(value, bool):
            value = "true" if value else "false"  # PostgREST's spelling, not Python's
        self.params.append((column, f"{operator}.{value}"))
        return self

    def eq(self, column: str, value) -> "Query":
        return self._filter(column, "eq", value)

    def neq(self, column: str, value) -> "Query":
        return self._filter(column, "neq", value)

    def gt(self, column: str, value) -> "Query":
        return self._filter(column, "gt", value)

    def gte(self, column: str, value) -> "Query":
        return self._filter(column, "gte", value)

    def lt(self, column: str, value) -> "Query":
        return self._filter(column, "lt", value)

    def lte(self, column: str, value) -> "Query":
        return self._filter(column, "lte", value)

    def is_(self, column: str, value) -> "Query":
        return self._filter(column, "is", value)

    def or_(self, filters: str) -> "Query":
        """Rows matching any of PostgREST's `filters` (as postgrest-py's or_: `a.eq.1,b.lt.2`)."""
        self.params.append(("or", f"({filters})"))
        return self

    def order(self, column: str, desc: bool = False) -> "Query":
        self._order.append(f"{column}.{'desc' if desc else 'asc'}")
        return self

    def limit(self, size: int) -> "Query":
        self.params.append(("limit", str(size)))
        return self

    def range(self, start: int, end: int) -> "Query":
        self.params += [("offset", str(start)), ("limit", str(end - start + 1))]
        return self

    def execute(self) -> Result:
        params = self.params + ([("order", ",".join(self._order))] if self._order else [])
        return self.client.send(self.method, self.path, params, self.body, self.prefer)
