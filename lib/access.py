"""Who may call: bearer token, anonymous access, and which browser origins (CORS)."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from lib import tokens
from lib.errors import NotConfigured, OriginNotAllowed, Unauthorized
from lib.settings import Access

_NAMESPACE = uuid.UUID("6f1c7d4e-1b0a-4f53-9a52-2f7f3b8c9d10")
TOKEN_USER_ID = str(uuid.uuid5(_NAMESPACE, "dashboard-token"))
TOKEN_NAME = "Dashboard"  # the display name of the single DASHBOARD_TOKEN
ANONYMOUS_USER_ID = str(uuid.uuid5(_NAMESPACE, "anonymous"))
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Accept"


def named_token_user_id(name: str) -> str:
    """A named dashboard token's user id: fixed by its name, so the token itself can be rotated."""
    return str(uuid.uuid5(_NAMESPACE, "dashboard-token:" + name))


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: how they got in, the user id their data lives under, the name others see."""

    kind: str  # "token" | "anonymous" | "user"
    user_id: str
    name: str = ""  # a named token's name, TOKEN_NAME, or the Supabase user's name or e-mail
    keeps_history: bool = True  # False for anonymous callers on Vercel: nothing of theirs is stored
    admin: bool = False  # by the server's settings only: ADMIN_TOKEN_NAMES, or Supabase app_metadata


def authenticate(authorization: str | None, access: Access) -> Caller:
    """The caller behind an Authorization header, or 401/503."""
    if not (access.dashboard_token or access.named_tokens or access.allow_anonymous or access.supabase_auth):
        raise NotConfigured(
            "auth_not_configured",
            "The API is closed because no access is configured: set DASHBOARD_TOKENS or DASHBOARD_TOKEN, or "
            "SUPABASE_URL / SUPABASE_JWT_SECRET for Supabase sign-in (or ALLOW_ANONYMOUS=1 for local development).",
        )
    token = _bearer(authorization)
    if token is None:
        if access.allow_anonymous:
            return Caller("anonymous", ANONYMOUS_USER_ID, keeps_history=access.anonymous_history)
        raise Unauthorized()
    holder = _token_holder(token, access)
    if holder is not None:
        return holder
    if access.supabase_auth and tokens.looks_like_jwt(token):
        user_id, name, admin = tokens.identity_from(token, access)
        return Caller("user", user_id, name, admin=admin)
    raise Unauthorized("The bearer token is not valid.")


def _token_holder(token: str, access: Access) -> Caller | None:
    """The dashboard token this is, compared in constant time with every configured one."""
    presented, holder = token.encode(), None
    for name, secret in access.named_tokens:
        if hmac.compare_digest(presented, secret.encode()):
            holder = Caller("token", named_token_user_id(name), name=name, admin=name in access.admin_token_names)
    if access.dashboard_token and hmac.compare_digest(presented, access.dashboard_token.encode()):
        holder = Caller("token", TOKEN_USER_ID, TOKEN_NAME)
    return holder


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def cors_headers(origin: str | None, host: str | None, access: Access) -> dict[str, str]:
    """CORS headers for a request's Origin; 403 for a cross-origin caller not in ALLOWED_ORIGINS."""
    if not origin:
        return {}
    if _same_origin(origin, host):
        return {}
    if origin.rstrip("/") in access.allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    raise OriginNotAllowed()


def _same_origin(origin: str, host: str | None) -> bool:
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
