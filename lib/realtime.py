"""Realtime voice with OpenAI: the session we configure, a client secret for it, or a call relayed from our server."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from lib import openai_http
from lib.deadline import Deadline
from lib.errors import PayloadTooLarge, UnsupportedMediaType, UpstreamBadResponse, ValidationFailed
from lib.settings import REALTIME_INSTRUCTIONS_MAX_CHARS, OpenAISettings, RealtimeSettings
from lib.validate import Body, Field, storable

AUTH_MESSAGE = (
    "OpenAI refused the server's key for Realtime: OPENAI_API_KEY lacks Realtime access "
    "(check the key's project, its permissions and the model's availability)."
)


@dataclass
class KeyRequest:
    """POST /api/realtime/key body (optional)."""

    voice: str | None = None
    instructions: str | None = None
    language: str | None = None  # the page's language, for transcribing the user's speech


LANGUAGES = ("fr", "en")
KEY_BODY = Body(KeyRequest, voice=Field(str, nullable=True), instructions=Field(str, nullable=True),
                language=Field(str, nullable=True, choices=LANGUAGES))


def parse_request(data: dict, cfg: RealtimeSettings) -> KeyRequest:
    """A valid KeyRequest, or 422 naming the field at fault."""
    request = KEY_BODY.parse(data)
    storable(request.instructions, "instructions")
    if request.voice is not None and request.voice not in cfg.allowed_voices:
        raise ValidationFailed("voice", f"must be one of: {', '.join(cfg.allowed_voices)}")
    if request.instructions is not None:
        if not cfg.allow_client_instructions:
            raise ValidationFailed("instructions", "client instructions are not accepted by this server")
        if len(request.instructions) > REALTIME_INSTRUCTIONS_MAX_CHARS:
            raise ValidationFailed("instructions", f"must be at most {REALTIME_INSTRUCTIONS_MAX_CHARS} characters")
    return request


def session_config(request: KeyRequest, cfg: RealtimeSettings) -> dict:
    """The session a client secret or a call is bound to; the user's speech is always transcribed, in the
    page's language when it is given (ISO-639-1, OpenAI's `audio.input.transcription.language`)."""
    transcription = {"model": cfg.transcription_model}
    if request.language:
        transcription["language"] = request.language
    session = {"type": "realtime", "model": cfg.model, "audio": {
        "input": {"transcription": transcription},
        "output": {"voice": request.voice or cfg.voice},
    }}
    instructions = request.instructions or cfg.instructions
    if instructions:
        session["instructions"] = instructions
    return session


def mint_key(request: KeyRequest, cfg: RealtimeSettings, oai: OpenAISettings, deadline: Deadline | None = None) -> dict:
    """A new client secret: only its value, expiry, model and voice go back to the browser."""
    session = session_config(request, cfg)
    secret = openai_http.post_json(
        oai, "/realtime/client_secrets", {"session": session,
                                          "expires_after": {"anchor": "created_at", "seconds": cfg.key_ttl}},
        function="realtime/key", deadline=deadline, model=cfg.model, auth_message=AUTH_MESSAGE,
    )
    value, expires_at = secret.get("value"), secret.get("expires_at")
    if not isinstance(value, str) or not value or not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise UpstreamBadResponse("OpenAI's answer carried no usable client secret.")
    return {"value": value, "expires_at": expires_at, "model": cfg.model,
            "voice": session["audio"]["output"]["voice"]}


MAX_OFFER_BYTES = 32 * 1024  # a browser's audio + data channel offer is 2-6 KiB, even with many ICE candidates
_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def parse_offer(raw: bytes, content_type: str | None) -> str:
    """The browser's SDP offer: `application/sdp`, at most MAX_OFFER_BYTES, text starting `v=0` with audio."""
    if (content_type or "").split(";")[0].strip().lower() != "application/sdp":
        raise UnsupportedMediaType("Send the WebRTC SDP offer as the body, with Content-Type: application/sdp.")
    if len(raw) > MAX_OFFER_BYTES:
        raise PayloadTooLarge(f"The SDP offer is {len(raw)} bytes; the limit is {MAX_OFFER_BYTES}.")
    try:
        offer = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("body", "the SDP offer must be UTF-8 text") from None
    if not offer.startswith("v=0") or "\nm=audio " not in offer or "\x00" in offer:
        raise ValidationFailed("body", "must be a WebRTC SDP offer (v=0 ... m=audio ...)")
    return offer


def language_from(query: dict) -> str | None:
    """The `language` query parameter (fr or en), or None; 422 for another."""
    language = query.get("language") or None
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed("language", f"must be one of: {', '.join(LANGUAGES)}")
    return language


def create_call(offer: str, cfg: RealtimeSettings, oai: OpenAISettings, language: str | None = None,
                deadline: Deadline | None = None) -> tuple[str, str]:
    """Start a call with OpenAI from our server, with our session: (its SDP answer, its call id)."""
    session = session_config(KeyRequest(language=language), cfg)
    content, content_type = openai_http.multipart([("sdp", "application/sdp", offer.encode()),
                                                   ("session", "application/json", orjson.dumps(session))])
    answer = openai_http.post(oai, "/realtime/calls", content, content_type, function="realtime/call",
                              deadline=deadline, accept="application/sdp", model=cfg.model,
                              auth_message=AUTH_MESSAGE, only_if_unsent=True)
    location = answer.headers.get("location") or ""
    call_id = location.rstrip("/").rsplit("/", 1)[-1]
    sdp = answer.content.decode("utf-8", "replace")
    if not _CALL_ID.match(call_id) or not sdp.startswith("v=0"):
        raise UpstreamBadResponse("OpenAI's answer carried no SDP answer or no call id.")
    return sdp, call_id


def is_call_id(value: str) -> bool:
    """True for a string shaped like OpenAI's call ids."""
    return bool(_CALL_ID.match(value))


def hang_up(call_id: str, oai: OpenAISettings, deadline: Deadline | None = None) -> None:
    """End a call through OpenAI; a call OpenAI no longer knows (404) is already over."""
    openai_http.post(oai, f"/realtime/calls/{call_id}/hangup", b"", None, function="realtime/call",
                     deadline=deadline, accept="*/*", auth_message=AUTH_MESSAGE, also_ok=(404,))
