"""A streamed Chat Completion over the shared httpx client, without the SDK: open it, then read its chunks."""

from __future__ import annotations

import functools
from typing import Iterator

import orjson

from lib import upstream
from lib.errors import UpstreamBadResponse, UpstreamStreamInterrupted
from lib.settings import OpenAISettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when OPENAI_BASE_URL is unset


def open_chat(cfg: OpenAISettings, body: dict):
    """The open httpx response of POST /chat/completions with `body` (stream: true); our ApiError otherwise.

    Failures are OpenAI's, mapped as for the SDK's calls (upstream.call: one retry at most, x-request-id logged).
    """
    upstream.require_key(cfg)
    request = _request(cfg.api_key, cfg.base_url, cfg.timeout, orjson.dumps(body))
    return upstream.call(lambda: _send(upstream.http_transport(cfg.timeout), request), model=body.get("model"))


def _request(api_key: str, base_url: str | None, timeout: float, content: bytes):
    """POST /chat/completions as the shared client would build it, from parts made once per configuration."""
    request_class, url, headers, extensions = _parts(api_key, base_url, timeout)
    return request_class("POST", url, headers=headers, content=content, extensions=dict(extensions))


@functools.lru_cache(maxsize=8)
def _parts(api_key: str, base_url: str | None, timeout: float):
    # The shared client's timeouts and default headers, without its per-request merging and URL parsing; sent by
    # its transport (its pool): the client's own send adds auth and redirect flows, a cookie jar and a log line.
    import httpx

    client = upstream.http_client(timeout)
    url = httpx.URL((base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions")
    headers = httpx.Headers({**client.headers, "Authorization": f"Bearer {api_key}",
                             "Content-Type": "application/json", "Accept": "text/event-stream"})
    return httpx.Request, url, headers, {"timeout": client.timeout.as_dict()}


def _send(transport, request):
    response = transport.handle_request(request)
    response.request = request
    if not response.is_success:
        try:
            response.read()
        finally:
            response.close()
        raise upstream.StatusError(response, _json_or_text(response.content))
    if not response.headers.get("content-type", "").lower().startswith("text/event-stream"):
        response.close()
        raise UpstreamBadResponse("OpenAI answered with a whole reply where a stream was asked for.")
    return response


def _json_or_text(content: bytes) -> object:
    """An error body as OpenAI sent it: its JSON, else its text (as the SDK keeps it)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace").strip()


def chunks(response) -> Iterator[dict]:
    """The JSON object of each `data:` line of the stream, until `[DONE]`; an `error` chunk raises."""
    pending = b""
    blocks = response.iter_bytes() if "content-encoding" in response.headers else response.iter_raw()
    for block in blocks:
        lines = (pending + block).split(b"\n") if pending else block.split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.startswith(b"data:"):
                chunk = _chunk(line)
                if chunk is None:
                    _drain(blocks)
                    return
                yield chunk
    if pending.startswith(b"data:"):  # a last line without its newline
        chunk = _chunk(pending)
        if chunk is not None:
            yield chunk


def _drain(blocks: Iterator[bytes]) -> None:
    """Read the body's end after `[DONE]` (it follows at once), so the connection goes back to the shared pool."""
    try:
        for _ in blocks:
            pass
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
