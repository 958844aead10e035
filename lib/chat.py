"""The integrated chat: request validation, the messages sent to OpenAI, and the reply (whole or streamed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from lib import deadline as deadlines, log, masking, openai_http, openai_stream, upstream
from lib.errors import (
    ApiError, ConversationNotFound, UpstreamBadResponse, UpstreamStreamInterrupted, ValidationFailed, canonical_uuid,
)
from lib.settings import SYSTEM_PROMPT_MAX_CHARS, ChatSettings, OpenAISettings
from lib.turns import Turn
from lib.validate import Body, Field, storable


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
    stop: bool = False  # in a room: stop the reply being written (with conversationId alone)
    editOf: int | None = None  # ask `message` in place of this question (a new version of it)
    chooseVersion: int | None = None  # show this version of a message (with conversationId alone)


MESSAGE_ID_MAX = 2**63 - 1  # a message id is a PostgreSQL bigint
# Each field's JSON type, strictly, and whether null stands for absent; tests/test_properties.py holds the pydantic
# model as the reference (pydantic itself stays out of the chat's cold start: README, Dependencies).
BODY = Body(ChatRequest, message=Field(str, nullable=True), systemPrompt=Field(str, nullable=True),
            conversationId=Field(str, nullable=True), model=Field(str, nullable=True),
            stream=Field(bool, nullable=True), askAssistant=Field(bool), regenerate=Field(bool, nullable=True),
            stop=Field(bool), editOf=Field(int, nullable=True, minimum=1, maximum=MESSAGE_ID_MAX),
            chooseVersion=Field(int, nullable=True, minimum=1, maximum=MESSAGE_ID_MAX))


def parse_request(data: dict, cfg: ChatSettings) -> ChatRequest:
    """A valid ChatRequest, or 422 naming the first field at fault."""
    if data.get("stop") is True:
        return _stop_request(data)
    if data.get("chooseVersion") is not None:
        return _alone_with_conversation(data, "chooseVersion", "to choose a version")
    if "message" not in data and not data.get("regenerate"):
        raise ValidationFailed("message", "field required")  # named first, as when it was always required
    request = BODY.parse(data)
    if request.conversationId is not None:
        request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    storable(request.message, "message")
    storable(request.systemPrompt, "systemPrompt")
    if request.editOf is not None:
        if request.regenerate:
            raise ValidationFailed("regenerate", "must be absent when editOf is given")
        if request.conversationId is None:
            raise ValidationFailed("conversationId", "is required to edit a question")
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


def _stop_request(data: dict) -> ChatRequest:
    """{"conversationId", "stop": true}: nothing else."""
    return _alone_with_conversation(data, "stop", "to stop a reply")


def _alone_with_conversation(data: dict, name: str, purpose: str) -> ChatRequest:
    """A body of `name` and conversationId alone (stop, chooseVersion)."""
    request = BODY.parse(data)
    for other in ("message", "systemPrompt", "model", "regenerate", "editOf", "chooseVersion"):
        if other != name and getattr(request, other) is not None:
            raise ValidationFailed(other, f"must be absent when {name} is {'true' if name == 'stop' else 'given'}")
    if name != "stop" and request.stop:
        raise ValidationFailed("stop", f"must be absent when {name} is given")
    if request.conversationId is None:
        raise ValidationFailed("conversationId", f"is required {purpose}")
    request.conversationId = canonical_uuid(request.conversationId, "conversationId")
    return request


def wants_stream(request: ChatRequest, accept: str | None) -> bool:
    """Stream when the body asks for it or the client accepts only an event stream."""
    return request.stream or "text/event-stream" in (accept or "")


def system_prompt_for(request: ChatRequest, cfg: ChatSettings) -> str | None:
    """The system prompt sent: the client's, else the server's."""
    return request.systemPrompt if request.systemPrompt is not None else cfg.system_prompt


def build_messages(request: ChatRequest, cfg: ChatSettings, history: list[dict] | None = None,
                   turn: Turn | None = None, masker: masking.Masker | None = None) -> list[dict]:
    """The system prompt (client's, else the server's), in a room the server's word on who is who, earlier turns,
    then the new user message (in a room, under the asker's label): all of it with client identifiers masked
    (lib/masking.py; `masker` keeps the placeholders, to restore them in the reply)."""
    messages = []
    system = system_prompt_for(request, cfg)
    if system:
        messages.append({"role": "system", "content": system})
    messages.extend(turn.preamble if turn else [])
    messages.extend(history or [])
    name = {"name": turn.asker_label} if turn and turn.asker_label else {}
    messages.append({"role": "user", **name, "content": request.message})
    masker = masker if masker is not None else masking.Masker(cfg.masked_kinds)
    masked = masker.mask_messages(messages)
    if masker.values:
        log.note(maskedIdentifiers=masker.counts())
    return masked


def reply(request: ChatRequest, turn: Turn, cfg: ChatSettings, oai: OpenAISettings,
          deadline: deadlines.Deadline | None = None) -> dict:
    """The assistant's whole reply as the API's JSON body, stored with its message; OpenAI's answer must be whole
    before `deadline` (else 504 upstream_timeout)."""
    model = request.model or cfg.model
    masker = masking.Masker(cfg.masked_kinds)
    messages = build_messages(request, cfg, turn.context, turn, masker)
    completion = openai_http.post_json(oai, "/chat/completions", {
        "model": model, "messages": messages, **cfg.completion_options(),
    }, function="groupchat/chat", deadline=deadline, model=model)
    content = _first_content(completion)
    text = masker.restore(content)
    usage = _usage(completion.get("usage") if isinstance(completion.get("usage"), dict) else None)
    answered = completion.get("model")
    return {"message": text, "conversationId": turn.conversation_id,
            "model": answered if isinstance(answered, str) and answered else model,
            "usage": usage, **turn.finish(text, usage)}


def _first_content(completion: dict) -> str:
    """The text of a Chat Completion's first choice ("" when it has none); UpstreamBadResponse if there is none."""
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamBadResponse("OpenAI's answer held no reply.")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if content is not None and not isinstance(content, str):
        raise UpstreamBadResponse()
    return content or ""


def stream_reply(request: ChatRequest, turn: Turn, cfg: ChatSettings, oai: OpenAISettings,
                 deadline: deadlines.Deadline | None = None) -> Iterator[dict | None]:
    """Open the upstream stream (errors here are ordinary HTTP errors), then relay it as events until `deadline`."""
    model = request.model or cfg.model
    deadline = deadline or deadlines.Deadline("groupchat/chat")
    masker = masking.Masker(cfg.masked_kinds)
    # Raw HTTP over stdlib http.client (lib/http_pool.py), not the SDK: `import openai` alone would add ~0.4 s to
    # a cold start, and opening and reading a stream through it costs about seven times the CPU (README, Dependencies).
    response = openai_stream.open_chat(oai, {
        "model": model, "messages": build_messages(request, cfg, turn.context, turn, masker), "stream": True,
        "stream_options": {"include_usage": True}, **cfg.completion_options(),
    }, deadline)
    if not masker.values:
        return _relay(response, turn, model, deadline)
    # The reply is read, stored and sent with the person's own values back in place of the placeholders.
    return masking.restored_events(_relay(response, masking.RestoringTurn(turn, masker), model, deadline), masker)


def _relay(response, turn: Turn, model: str, deadline: deadlines.Deadline) -> Iterator[dict | None]:
    """`delta` events, then exactly one `done`, or `error` if the stream breaks or never finishes; None on an idle
    tick and a `status` while the model thinks (lib/deadline.py). At the deadline the reply ends as it got:
    stored interrupted, `done` with finishReason "time_limit".

    A private reply the caller stops (hangs up) is stored as far as it got, marked interrupted; a failed one is not
    stored. A room's reply is stored as it grows (Turn.grow, before its words are sent on), goes on being read and
    stored when the asker hangs up, and stops when someone stops it (`done` with finishReason "stopped").
    """
    parts: list[str] = []
    usage = finish_reason = None
    chunks = deadlines.paced(openai_stream.chunks(response, deadlines.TICK_SECONDS), deadline)
    try:
        for chunk in chunks:
            if chunk is deadlines.TIME_UP:
                yield _time_up(turn, parts, usage)
                return
            if chunk is None or "type" in chunk:  # an idle tick or a status: the stream's own, not OpenAI's
                yield chunk
                continue
            text, usage, finish_reason = _piece(chunk, usage, finish_reason)
            if text:
                parts.append(text)
                outcome = turn.grow("".join(parts))
                if outcome != "ok":
                    yield from _halted(turn, parts, usage, outcome)
                    return
                yield {"type": "delta", "text": text}
    except GeneratorExit:
        if turn.reply_id is not None:  # a room's reply: the others are reading it; it goes on to its end
            _unheard(chunks, turn, parts, usage, finish_reason)
            raise
        try:
            turn.finish("".join(parts), usage, status="interrupted")
        except ApiError:
            pass  # the caller left a room mid-reply: nothing is stored, and no one is listening
        raise
    except Exception as exc:  # noqa: BLE001 - any upstream failure closes the stream with an error event
        turn.charge("".join(parts), usage)
        _end_unfinished(turn, parts)
        yield error_event(upstream.translate(exc, model=model, mid_stream=True))
        return
    finally:
        chunks.close()
        response.close()
    if finish_reason is None:
        turn.charge("".join(parts), usage)
        _end_unfinished(turn, parts)
        yield error_event(UpstreamStreamInterrupted())
        return
    text = "".join(parts)
    try:
        saved = turn.finish(text, usage)
    except ApiError as error:  # e.g. the asker was removed from the room while the reply was made
        yield error_event(error)
        return
    yield {"type": "done", "message": text, "conversationId": turn.conversation_id, "usage": usage,
           "finishReason": "stopped" if saved.pop("stopped", False) else finish_reason, **saved}


def _piece(chunk: dict, usage, finish_reason) -> tuple[str, dict | None, str | None]:
    """One stream chunk's text, and the usage and finish reason so far."""
    if chunk.get("usage"):
        usage = _usage(chunk["usage"])
    text = ""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        text += (delta.get("content") if delta else None) or ""
        finish_reason = choice.get("finish_reason") or finish_reason
    return text, usage, finish_reason


def _time_up(turn: Turn, parts: list[str], usage) -> dict:
    """The deadline came first: what arrived is stored as interrupted and the last event says why."""
    text = "".join(parts)
    try:
        saved = turn.finish(text, usage, status="interrupted")
    except ApiError as error:
        return error_event(error)
    return {"type": "done", "message": text, "conversationId": turn.conversation_id, "usage": usage,
            "finishReason": "time_limit", **saved}


def _halted(turn: Turn, parts: list[str], usage, outcome: str) -> Iterator[dict]:
    """A room's reply someone stopped ("stopped": it keeps what was stored) or whose asker left ("gone": deleted)."""
    turn.charge("".join(parts), usage)
    turn.reply_id = None
    if outcome == "gone":
        yield error_event(ConversationNotFound())
        return
    yield {"type": "done", "message": "".join(parts), "conversationId": turn.conversation_id, "usage": usage,
           "finishReason": "stopped", "saved": True}


def _unheard(chunks, turn: Turn, parts: list[str], usage, finish_reason) -> None:
    """The asker hung up on a room's reply: read it to its end (bounded by the request's deadline), storing it as
    it grows, then finish it (complete, or interrupted if the stream failed or time ran out); nothing is sent."""
    try:
        for chunk in chunks:
            if chunk is deadlines.TIME_UP:
                finish_reason = None
                break
            if chunk is None or "type" in chunk:
                continue
            text, usage, finish_reason = _piece(chunk, usage, finish_reason)
            if text:
                parts.append(text)
                if turn.grow("".join(parts)) != "ok":
                    turn.charge("".join(parts), usage)
                    turn.reply_id = None
                    return
    except Exception:  # noqa: BLE001 - the stream failed: keep what arrived
        finish_reason = None
    try:
        turn.finish("".join(parts), usage, status="complete" if finish_reason else "interrupted")
    except ApiError:
        pass  # the asker was removed meanwhile: the reply is deleted, and no one is listening


def _end_unfinished(turn: Turn, parts: list[str]) -> None:
    """A room's reply that failed mid-stream keeps what arrived, marked interrupted (none: it is deleted)."""
    if turn.reply_id is None:
        return
    if parts:
        try:
            turn.save("".join(parts), "interrupted")
        except ApiError:
            pass
    turn.abandon()


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
