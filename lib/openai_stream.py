"""A streamed Chat Completion over the shared httpx client, without the SDK: open it, then read its chunks."""

from __future__ import annotations

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
    key = upstream.require_key(cfg)
    http = upstream.http_client(cfg.timeout)
    url = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "text/event-stream"}
    content = orjson.dumps(body)
    return upstream.call(lambda: _send(http, url, headers, content), model=body.get("model"))


def _send(http, url: str, headers: dict, content: bytes):
    response = http.send(http.build_request("POST", url, content=content, headers=headers), stream=True)
    if not response.is_success:
        try:
            response.read()
        finally:
            response.close()
        raise upstream.StatusError(response, _json_or_text(response.content))
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
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
    for block in response.iter_bytes():
        lines = (pending + block).split(b"\n") if pending else block.split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.startswith(b"data:"):
                chunk = _chunk(line)
                if chunk is None:
                    return
                yield chunk
    if pending.startswith(b"data:"):  # a last line without its newline
        chunk = _chunk(pending)
        if chunk is not None:
            yield chunk


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
