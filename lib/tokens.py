"""Supabase users' access tokens, verified on the server: HS256 with SUPABASE_JWT_SECRET, or the project's JWKS."""

from __future__ import annotations

import functools
import uuid

from lib.errors import NotConfigured, Unauthorized
from lib.settings import Access

ASYMMETRIC = ("RS256", "ES256")
JWKS_PATH = "/auth/v1/.well-known/jwks.json"


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def identity_from(token: str, access: Access) -> tuple[str, str, bool]:
    """The verified token's user id (`sub`), display name (user_metadata full_name or name, else the e-mail) and
    whether it is an admin (is_admin); 401 for any token that is not valid now."""
    import jwt

    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise Unauthorized("The access token is malformed.") from None
    key = _key_for(token, algorithm, access)
    issuer = f"{access.supabase_url}/auth/v1" if access.supabase_url else None
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm], audience="authenticated", issuer=issuer,
                            leeway=10, options={"require": ["exp", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired; sign in again.") from None
    except jwt.PyJWTError:
        raise Unauthorized("The access token is not valid.") from None
    if claims.get("is_anonymous") is True and not access.supabase_allow_anonymous_users:
        raise Unauthorized("Anonymous Supabase sign-ins are not accepted here; sign in with an account.")
    try:
        user_id = str(uuid.UUID(str(claims["sub"])))
    except ValueError:
        raise Unauthorized("The access token names no user.") from None
    return user_id, display_name(claims), is_admin(claims)


def is_admin(claims: dict) -> bool:
    """An admin by `app_metadata.dashboard_admin: true`, which only the service role can set (a user can edit
    user_metadata, never app_metadata)."""
    metadata = claims.get("app_metadata")
    return isinstance(metadata, dict) and metadata.get("dashboard_admin") is True


def display_name(claims: dict) -> str:
    """How a Supabase user is shown to others: their name from sign-up, else their e-mail, else ''."""
    metadata = claims.get("user_metadata") if isinstance(claims.get("user_metadata"), dict) else {}
    for value in (metadata.get("full_name"), metadata.get("name"), claims.get("email")):
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return ""


def _key_for(token: str, algorithm: str | None, access: Access):
    import jwt

    if algorithm == "HS256" and access.supabase_jwt_secret:
        return access.supabase_jwt_secret
    if algorithm in ASYMMETRIC and access.supabase_url:
        try:
            signing_key = _jwks(access.supabase_url + JWKS_PATH).get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise NotConfigured("auth_unavailable", "Could not reach Supabase to check the access token; "
                                                    "try again shortly.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The access token was not signed by this project's keys.") from None
        if signing_key.algorithm_name != algorithm:  # e.g. RS256 in the header, an EC key behind its kid
            raise Unauthorized("The access token's algorithm does not match its key.")
        return signing_key.key
    raise Unauthorized("The access token is not signed in a way this server accepts.")


@functools.lru_cache(maxsize=4)
def _jwks(url: str):
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=5)
