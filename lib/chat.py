"""The integrated chat: request validation, the messages sent to OpenAI, and the reply (whole or streamed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from lib import openai_stream, upstream
from lib.errors import ApiError, UpstreamBadResponse, UpstreamStreamInterrupted, ValidationFailed, canonical_uuid
from lib.settings import SYSTEM_PROMPT_MAX_CHARS, ChatSettings, OpenAISettings
from lib.turns import Turn
from lib.validate import Body, Field


@dataclass
class ChatRequest:
    """POST /api/groupchat/chat body."""

    message: str | None = None
    systemPrompt: str | None = None
    conversationId: str | None = None
    model: str | None = None
    stream: bool = False
    askAssistant: bool = False  # in a room: answer this message even without @assistant / @IA
    regenerate: bool | None = None


# Each field's JSON type, strictly, and whether null stands for absent; tests/test_properties.py holds the pydantic
# model as the reference (pydantic itself stays out of the chat's cold start: README, Dependencies).
BODY = Body(ChatRequest, message=Field(str, nullable=True), systemPrompt=Field(str, nullable=True),
            conversationId=Field(str, nullable=True), model=Field(str, nullable=True),
            stream=Field(bool, nullable=True), askAssistant=Field(bool), regenerate=Field(bool, nullable=True))


def parse_request(data: dict, cfg: ChatSettings) -> ChatRequest:
    """A valid ChatRequest, or 422 naming the first field at fault."""
    if "message" not in data and not data.get("regenerate"):
        raise ValidationFailed("message", "field required")  # named first, as when it was always required
    request = BODY.parse(data)
    if request.conversationId is not None:
        request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    if request.regenerate:
        if request.message is not None:
            raise ValidationFailed("message", "must be absent when regenerate is true (the last message is reused)")
        if request.conversationId is None:
            raise ValidationFailed("conversationId", "is required to regenerate a reply")
    elif request.message is None:
        raise ValidationFailed("message", "field required")
    if request.message is not None and not request.message.strip():
        raise ValidationFailed("message", "must not be blank")
    if request.message is not None and len(request.message) > cfg.max_message_chars:
        raise ValidationFailed("message", f"must be at most {cfg.max_message_chars} characters")
    if request.systemPrompt is not None and not cfg.allow_client_system_prompt:
        raise ValidationFailed("systemPrompt", "this server sets the system prompt; do not send one")
    if request.systemPrompt is not None and len(request.systemPrompt) > SYSTEM_PROMPT_MAX_CHARS:
        raise ValidationFailed("systemPrompt", f"must be at most {SYSTEM_PROMPT_MAX_CHARS} characters")
    if request.model is not None and request.model not in cfg.allowed_models:
        raise ValidationFailed("model", f"must be one of: {', '.join(cfg.allowed_models)}")
    return request


def wants_stream(request: ChatRequest, accept: str | None) -> bool:
    """Stream when the body asks for it or the client accepts only an event stream."""
    return request.stream or "text/event-stream" in (accept or "")


def system_prompt_for(request: ChatRequest, cfg: ChatSettings) -> str | None:
    """The system prompt sent: the client's, else the server's."""
    return request.systemPrompt if request.systemPrompt is not None else cfg.system_prompt


def build_messages(request: ChatRequest, cfg: ChatSettings, history: list[dict] | None = None) -> list[dict]:
    """The system prompt (client's, else the server's), earlier turns, then the new user message."""
    messages = []
    system = system_prompt_for(request, cfg)
    if system:
        messages.append({"role": "system", "content": system})
    messages.extend(history or [])
    messages.append({"role": "user", "content": request.message})
    return messages


def reply(request: ChatRequest, turn: Turn, cfg: ChatSettings, oai: OpenAISettings) -> dict:
    """The assistant's whole reply as the API's JSON body, stored with its message."""
    client = upstream.client(oai)
    model = request.model or cfg.model
    completion = upstream.with_retry(
        lambda: client.chat.completions.create(model=model, messages=build_messages(request, cfg, turn.context),
                                               **cfg.completion_options()),
        model=model,
    )
    if not completion.choices:
        raise UpstreamBadResponse("OpenAI's answer held no reply.")
    text, usage = completion.choices[0].message.content or "", _usage(completion.usage)
    return {"message": text, "conversationId": turn.conversation_id, "model": completion.model or model,
            "usage": usage, **turn.finish(text, usage)}


def stream_reply(request: ChatRequest, turn: Turn, cfg: ChatSettings, oai: OpenAISettings) -> Iterator[dict]:
    """Open the upstream stream (errors here are ordinary HTTP errors), then relay it as events."""
    model = request.model or cfg.model
    # Raw HTTP over stdlib http.client (lib/http_pool.py), not the SDK: `import openai` alone would add ~0.4 s to
    # a cold start, and opening and reading a stream through it costs about seven times the CPU (README, Dependencies).
    response = openai_stream.open_chat(oai, {
        "model": model, "messages": build_messages(request, cfg, turn.context), "stream": True,
        "stream_options": {"include_usage": True}, **cfg.completion_options(),
    })
    return _relay(response, turn, model)


def _relay(response, turn: Turn, model: str) -> Iterator[dict]:
    """`delta` events, then exactly one `done`, or `error` if the stream breaks or never finishes.

    A reply the caller stops (hangs up) is stored as far as it got, marked interrupted; a failed one is not stored.
    """
    parts: list[str] = []
    usage = finish_reason = None
    try:
        for chunk in openai_stream.chunks(response):
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta")
                text = delta.get("content") if delta else None
                if text:
                    parts.append(text)
                    yield {"type": "delta", "text": text}
                finish_reason = choice.get("finish_reason") or finish_reason
    except GeneratorExit:
        try:
            turn.finish("".join(parts), usage, status="interrupted")
        except ApiError:
            pass  # the caller left a room mid-reply: nothing is stored, and no one is listening
        raise
    except Exception as exc:  # noqa: BLE001 - any upstream failure closes the stream with an error event
        turn.charge("".join(parts), usage)
        yield error_event(upstream.translate(exc, model=model, mid_stream=True))
        return
    finally:
        response.close()
    if finish_reason is None:
        turn.charge("".join(parts), usage)
        yield error_event(UpstreamStreamInterrupted())
        return
    text = "".join(parts)
    try:
        saved = turn.finish(text, usage)
    except ApiError as error:  # e.g. the asker was removed from the room while the reply was made
        yield error_event(error)
        return
    yield {"type": "done", "message": text, "conversationId": turn.conversation_id, "usage": usage,
           "finishReason": finish_reason, **saved}


def error_event(error: ApiError) -> dict:
    """The closing `error` event for a stream that could not finish."""
    return {"type": "error", "error": error.body()}


def _usage(usage) -> dict | None:
    """Token counts from a typed usage object or a stream chunk's usage dict."""
    if usage is None:
        return None
    if not isinstance(usage, dict):
        usage = {name: getattr(usage, name, None) for name in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return {name: usage.get(name) for name in ("prompt_tokens", "completion_tokens", "total_tokens")}
