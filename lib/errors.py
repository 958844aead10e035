"""Every error of this package: those the API answers with, each with its HTTP form (the one place errors meet
status codes), and the store's outage, which the history door (lib/history.py) turns into one of them."""

from __future__ import annotations

import json
import re


class ApiError(Exception):
    """An error meant for the caller: a status, a stable code and a human sentence."""

    status = 500
    code = "internal_error"
    default_message = "Unexpected server error."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None, **extra):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict:
        """The JSON error object, `{"code", "message", ...extra}`."""
        return {"code": self.code, "message": self.message, **self.extra}

    def to_json(self) -> bytes:
        """The full response body, `{"error": {...}}`."""
        return json.dumps({"error": self.body()}, ensure_ascii=False).encode()


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"
    default_message = "The request body must be a JSON object."


class BadHttpRequest(ApiError):
    status, code = 400, "bad_http_request"
    default_message = "Malformed HTTP request."


class RequestTimeout(ApiError):
    status, code = 408, "request_timeout"
    default_message = "The request body did not arrive in time; send it whole, at once."


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"
    default_message = "Missing or invalid credentials: send Authorization: Bearer <token>."


class OriginNotAllowed(ApiError):
    status, code = 403, "origin_not_allowed"
    default_message = "This origin is not allowed to call the API (see ALLOWED_ORIGINS)."


class ConversationNotFound(ApiError):
    """No such conversation for this caller (or it was deleted: a deleted conversation's id is never used again);
    the stores raise it too."""

    status, code = 404, "conversation_not_found"
    default_message = "No conversation with this id."


class InviteNotFound(ApiError):
    status, code = 404, "invite_not_found"
    default_message = "This invitation does not exist, has expired or was revoked; ask for a new link."


class NotFound(ApiError):
    """What a route that does not exist answers, and so what a closed one (admin, cron) answers its outsiders."""

    status, code = 404, "not_found"
    default_message = "No such API route."


class MessageNotFound(ApiError):
    status, code = 404, "message_not_found"
    default_message = "No reply with this id in this conversation."


class MemberNotFound(ApiError):
    status, code = 404, "member_not_found"
    default_message = "This person is not a member of the room."


class SignInRequired(ApiError):
    status, code = 403, "sign_in_required"
    default_message = "Rooms are for signed-in people: sign in (or use the dashboard token) to create or join one."


class OwnerOnly(ApiError):
    status, code = 403, "owner_only"
    default_message = "Only the room's owner can do this."


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"

    def __init__(self, method: str, allowed: list[str]):
        super().__init__(
            f"Method {method} is not allowed here; use {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class CallNotFound(ApiError):
    status, code = 404, "call_not_found"
    default_message = "No voice call with this id was started by you."


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", field=field)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def canonical_uuid(value: str, field: str) -> str:
    """A UUID in its one canonical written form (lower case, hyphenated); 422 naming the field otherwise."""
    if not isinstance(value, str) or not _UUID.match(value):
        raise ValidationFailed(field, "must be a UUID like 123e4567-e89b-12d3-a456-426614174000")
    return value.lower()


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class ContentFlagged(ApiError):
    status, code = 422, "content_flagged"
    default_message = "OpenAI's moderation flagged this message; it was not sent to the assistant."


class ConfigError(ApiError):
    status, code = 500, "misconfigured"

    def __init__(self, setting: str, problem: str):
        super().__init__(f"Server setting {setting} {problem}.", setting=setting)


class NotConfigured(ApiError):
    status = 503

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class HistoryUnavailable(ApiError):
    status, code = 503, "history_unavailable"
    default_message = "The chat history store could not be reached; try again shortly."


class HistoryDisabled(ApiError):
    status, code = 503, "history_disabled"
    default_message = ("Chat history is off on this server: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY "
                       "(or HISTORY_DB for a local SQLite file).")


class HistoryForUsersOnly(HistoryDisabled):
    default_message = "Chat history in Supabase is kept for signed-in users only; this turn was not saved."


class StoreUnavailable(Exception):
    """The store could not be reached, or answered with an error (never sent to a caller as it is)."""


class UpstreamError(ApiError):
    status, code = 502, "upstream_error"
    default_message = "OpenAI answered with a server error; try again shortly."


class UpstreamRateLimited(ApiError):
    status, code = 429, "upstream_rate_limited"
    default_message = "OpenAI is rate limiting this server; retry after the delay in Retry-After."


class UpstreamQuota(ApiError):
    status, code = 503, "upstream_quota"
    default_message = "The server's OpenAI account has no quota left (billing); this will not pass by retrying."


class UpstreamAuth(ApiError):
    status, code = 502, "upstream_auth"
    default_message = "OpenAI refused the server's API key; the operator must check OPENAI_API_KEY."


class UpstreamModelUnavailable(ApiError):
    status, code = 502, "upstream_model_unavailable"


class UpstreamRejected(ApiError):
    status, code = 502, "upstream_rejected"
    default_message = "OpenAI rejected the request."


class UpstreamUnreachable(ApiError):
    status, code = 502, "upstream_unreachable"
    default_message = "Could not reach OpenAI; try again shortly."


class UpstreamBadResponse(ApiError):
    status, code = 502, "upstream_bad_response"
    default_message = "OpenAI sent a response this server could not read."


class UpstreamStreamInterrupted(ApiError):
    status, code = 502, "upstream_stream_interrupted"
    default_message = "The reply from OpenAI was cut off before it finished."


class UpstreamTimeout(ApiError):
    status, code = 504, "upstream_timeout"
    default_message = "OpenAI did not answer in time; try again."


class UpstreamStatus(Exception):
    """OpenAI's non-2xx answer read without the SDK, with the attributes the SDK's APIStatusError has; lib/upstream.py
    turns it into one of the Upstream* errors above, as it does the SDK's."""

    def __init__(self, response, body: object):
        super().__init__(f"Error code: {response.status_code}")
        self.response, self.status_code = response, response.status_code
        self.body = body.get("error", body) if isinstance(body, dict) else body  # as the SDK keeps it
        code = self.body.get("code") if isinstance(self.body, dict) else None
        self.code = str(code) if code is not None else None
        self.request_id = response.headers.get("x-request-id")
