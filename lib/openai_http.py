"""OpenAI's whole answers (the reply, moderation, Realtime keys, calls, hang-ups) over lib/http_pool.py, no SDK."""

from __future__ import annotations

import secrets

import orjson

from lib import deadline as deadlines
from lib import http_pool, upstream
from lib.errors import UpstreamBadResponse, UpstreamStatus
from lib.openai_stream import DEFAULT_BASE_URL, MAX_ERROR_BODY_BYTES, USER_AGENT
from lib.settings import OpenAISettings

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a whole answer is read this far, no further (a long reply is ~100 KiB)


class Answer:
    """OpenAI's 2xx answer, read whole: status_code, headers (get() ignores case), content."""

    def __init__(self, status_code: int, headers, content: bytes):
        self.status_code, self.headers, self.content = status_code, headers, content

    def json(self) -> dict:
        """The body as a JSON object; UpstreamBadResponse otherwise."""
        try:
            body = orjson.loads(self.content)
        except orjson.JSONDecodeError:
            raise UpstreamBadResponse() from None
        if not isinstance(body, dict):
            raise UpstreamBadResponse()
        return body


def post(cfg: OpenAISettings, path: str, content: bytes, content_type: str | None, *, function: str,
         deadline: deadlines.Deadline | None = None, accept: str = "application/json", model: str | None = None,
         auth_message: str | None = None, only_if_unsent: bool = False, also_ok: tuple[int, ...] = ()) -> Answer:
    """POST `content` to OpenAI's `path` and read the answer whole, within `function`'s deadline (each read within
    OPENAI_TIMEOUT_SECONDS, as cut by upstream.attempt_timeout; the answer within MAX_ANSWER_BYTES); our ApiError
    otherwise, retried as upstream.with_retry says. A status in `also_ok` is an answer, not an error."""
    key = upstream.require_key(cfg)
    url = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/") + path
    headers = {"Authorization": f"Bearer {key}", "Accept": accept, "User-Agent": USER_AGENT}
    if content_type:
        headers["Content-Type"] = content_type
    ends = deadline or deadlines.Deadline(function)
    timeout = upstream.attempt_timeout(cfg, function)

    def attempt() -> Answer:
        if ends.passed():
            raise TimeoutError("the deadline passed before the request was sent")
        exchange = http_pool.post(url, headers, content, timeout=timeout, ca_file=cfg.ca_file, proxy=cfg.proxy,
                                  expired=ends.passed, whole=True)
        try:
            return _whole(exchange, also_ok)
        finally:
            exchange.close()

    return upstream.with_retry(attempt, model=model, auth_message=auth_message, only_if_unsent=only_if_unsent)


def post_json(cfg: OpenAISettings, path: str, body: dict, **options) -> dict:
    """post() a JSON body; the answer's JSON object."""
    return post(cfg, path, orjson.dumps(body), "application/json", **options).json()


def multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart/form-data body of (name, content type, value) parts, as the SDK sends."""
    boundary = "----relay" + secrets.token_hex(16)
    chunks = []
    for name, kind, value in parts:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                      f"Content-Type: {kind}\r\n\r\n".encode() + value + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _whole(exchange, also_ok: tuple[int, ...]) -> Answer:
    """The answer read whole; OpenAI's error as errors.UpstreamStatus (its body cut at MAX_ERROR_BODY_BYTES)."""
    status = exchange.status_code
    if not 200 <= status < 300 and status not in also_ok:
        raise UpstreamStatus(exchange, _json_or_text(exchange.read(MAX_ERROR_BODY_BYTES)))
    content = exchange.read(MAX_ANSWER_BYTES + 1)
    if len(content) > MAX_ANSWER_BYTES:
        raise UpstreamBadResponse("OpenAI's answer was past its bound.")
    return Answer(status, exchange.headers, content)


def _json_or_text(content: bytes) -> object:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace").strip()
