"""A streamed Chat Completion straight over HTTP (lib/http_pool.py), without the SDK: open it, then read its chunks."""

from __future__ import annotations

import zlib
from typing import Iterator

import orjson

from lib import http_pool, upstream
from lib.errors import UpstreamBadResponse, UpstreamStatus, UpstreamStreamInterrupted
from lib.settings import OpenAISettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when OPENAI_BASE_URL is unset
USER_AGENT = "finance-dashboard-relay (python http.client)"
ENCODINGS = ("identity", "gzip", "deflate")  # what the request accepts (as httpx, which the SDK uses, asks)
MAX_ERROR_BODY_BYTES = 64 * 1024  # an error body is read this far, no further (OpenAI's are under 1 KiB)
MAX_LINE_BYTES = 1024 * 1024  # one `data:` line of the stream (a chunk is a few hundred bytes)


def open_chat(cfg: OpenAISettings, body: dict, deadline=None):
    """The open answer to POST /chat/completions with `body` (stream: true); our ApiError otherwise. Its headers
    (and any error body) must come before `deadline` (lib/deadline.Deadline), however slowly.

    Failures are OpenAI's, mapped as for the SDK's (upstream.with_retry: one retry at most, x-request-id logged).
    """
    upstream.require_key(cfg)
    url = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
    headers = _headers(cfg.api_key)
    content = orjson.dumps(body)

    def attempt():
        return _checked(http_pool.post(url, headers, content, timeout=cfg.timeout, ca_file=cfg.ca_file,
                                       proxy=cfg.proxy, expired=deadline.passed if deadline is not None else None))

    return upstream.with_retry(attempt, model=body.get("model"))


def _headers(api_key: str) -> dict[str, str]:
    """What every streamed request sends besides its body."""
    return {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json", "Accept": "text/event-stream",
            "Accept-Encoding": ", ".join(ENCODINGS[1:]), "User-Agent": USER_AGENT}


def _checked(response):
    """The answer if it is a stream; OpenAI's error (errors.UpstreamStatus) or UpstreamBadResponse otherwise."""
    if not 200 <= response.status_code < 300:
        try:
            content = response.read(MAX_ERROR_BODY_BYTES)
        finally:
            response.close()
        raise UpstreamStatus(response, _json_or_text(_decoded(response, content)))
    if not (response.headers.get("content-type") or "").lower().startswith("text/event-stream"):
        response.close()
        raise UpstreamBadResponse("OpenAI answered with a whole reply where a stream was asked for.")
    if _encoding(response) not in ENCODINGS:
        response.close()
        raise UpstreamBadResponse(f"OpenAI answered in an encoding not asked for ({_encoding(response)}).")
    return response


def _json_or_text(content: bytes) -> object:
    """An error body as OpenAI sent it: its JSON, else its text (as the SDK keeps it)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace").strip()


def chunks(response, tick: float | None = None) -> Iterator[dict | None]:
    """The JSON object of each `data:` line of the stream, until `[DONE]`; an `error` chunk raises. With `tick`
    (http_pool.Exchange.blocks), None when a tick passes without a whole line: nothing came, or only part of one."""
    pending = b""
    blocks = _decode(response, response.blocks(tick))
    for block in blocks:
        if not block:
            if tick is not None:
                yield None
            continue
        lines = (pending + block).split(b"\n") if pending else block.split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise UpstreamBadResponse("OpenAI sent a stream line past its bound.")
        whole = False
        for line in lines:
            if line.startswith(b"data:"):
                chunk = _chunk(line)
                if chunk is None:
                    _drain(blocks)
                    return
                whole = True
                yield chunk
        if tick is not None and not whole:
            yield None  # only part of a line: the reader may still have to act (a drip never ends one)
    if pending.startswith(b"data:"):  # a last line without its newline
        chunk = _chunk(pending)
        if chunk is not None:
            yield chunk


def _decoded(response, content: bytes) -> bytes:
    """A whole (error) body, decoded if it can be: its status matters more than its text."""
    try:
        return b"".join(_decode(response, iter((content,))))
    except UpstreamBadResponse:
        return content


def _encoding(response) -> str:
    return (response.headers.get("content-encoding") or "identity").strip().lower()


def _decode(response, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The body's bytes as sent, gzip or deflate undone."""
    if _encoding(response) == "identity":
        return blocks
    return _inflated(blocks, zlib.decompressobj(zlib.MAX_WBITS | 32))  # | 32: a gzip or a zlib header


def _inflated(blocks: Iterator[bytes], inflater) -> Iterator[bytes]:
    try:
        for block in blocks:
            yield inflater.decompress(block) if block else block  # b"" too: the reader's turn all the same
        if rest := inflater.flush():
            yield rest
    except zlib.error:
        raise UpstreamBadResponse() from None


def _drain(blocks: Iterator[bytes]) -> None:
    """Read the body's end after `[DONE]` (it follows at once), so the connection goes back to the shared pool."""
    try:
        for block in blocks:
            if not block:
                return  # a tick without the end: the connection is simply not reused
    except Exception:  # noqa: BLE001 - the reply is complete; a connection that fails now is simply not reused
        pass


def _chunk(line: bytes) -> dict | None:
    """One `data:` line's object; None for `[DONE]`."""
    data = line[5:].strip()
    if data == b"[DONE]":
        return None
    chunk = orjson.loads(data)
    if not isinstance(chunk, dict):
        raise UpstreamBadResponse()
    if chunk.get("error"):
        raise UpstreamStreamInterrupted("OpenAI reported an error in the middle of the reply; try again.")
    return chunk
