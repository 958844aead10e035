"""Realtime voice: mint a short-lived OpenAI client secret (ephemeral key) for the browser's WebRTC session."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from lib import upstream
from lib.errors import UpstreamBadResponse, ValidationFailed, validation_failed
from lib.settings import REALTIME_INSTRUCTIONS_MAX_CHARS, OpenAISettings, RealtimeSettings

AUTH_MESSAGE = (
    "OpenAI refused the server's key for Realtime: OPENAI_API_KEY lacks Realtime access "
    "(check the key's project, its permissions and the model's availability)."
)


class KeyRequest(BaseModel):
    """POST /api/realtime/key body (optional)."""

    model_config = ConfigDict(extra="forbid")

    voice: StrictStr | None = None
    instructions: StrictStr | None = None


def parse_request(data: dict, cfg: RealtimeSettings) -> KeyRequest:
    """A valid KeyRequest, or 422 naming the field at fault."""
    try:
        request = KeyRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
    if request.voice is not None and request.voice not in cfg.allowed_voices:
        raise ValidationFailed("voice", f"must be one of: {', '.join(cfg.allowed_voices)}")
    if request.instructions is not None:
        if not cfg.allow_client_instructions:
            raise ValidationFailed("instructions", "client instructions are not accepted by this server")
        if len(request.instructions) > REALTIME_INSTRUCTIONS_MAX_CHARS:
            raise ValidationFailed("instructions", f"must be at most {REALTIME_INSTRUCTIONS_MAX_CHARS} characters")
    return request


def session_config(request: KeyRequest, cfg: RealtimeSettings) -> dict:
    """The session the client secret is bound to."""
    session = {"type": "realtime", "model": cfg.model, "audio": {"output": {"voice": request.voice or cfg.voice}}}
    instructions = request.instructions or cfg.instructions
    if instructions:
        session["instructions"] = instructions
    return session


def mint_key(request: KeyRequest, cfg: RealtimeSettings, oai: OpenAISettings) -> dict:
    """A new client secret: only its value, expiry, model and voice go back to the browser."""
    client = upstream.client(oai)
    session = session_config(request, cfg)
    secret = upstream.call(
        lambda: client.realtime.client_secrets.create(
            session=session, expires_after={"anchor": "created_at", "seconds": cfg.key_ttl},
        ),
        model=cfg.model, auth_message=AUTH_MESSAGE,
    )
    if not isinstance(secret.value, str) or not secret.value or not isinstance(secret.expires_at, int):
        raise UpstreamBadResponse("OpenAI's answer carried no usable client secret.")
    return {"value": secret.value, "expires_at": secret.expires_at, "model": cfg.model,
            "voice": session["audio"]["output"]["voice"]}
