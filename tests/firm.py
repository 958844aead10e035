"""What the firm's-controls tests share: people signed in with Supabase access tokens (some admins by
app_metadata), and the functions they call, hosted on loopback."""

from __future__ import annotations

import time

import jwt

from tests.helpers import LoopbackServer, call, load_handler

SECRET = "jwt-secret-for-firm-controls-0123456789"
ADMIN = {"app_metadata": {"dashboard_admin": True}}


class People:
    """Named people on one store: each a user id and an Authorization header; `claims` adds to their token."""

    def __init__(self, backend, **claims: dict):
        self.backend, self.ids, self.headers = backend, {}, {}
        for name, extra in claims.items():
            self.add(name, **extra)

    def add(self, name: str, **extra) -> None:
        self.ids[name] = self.backend.new_user()
        token_claims = {"sub": self.ids[name], "aud": "authenticated", "exp": int(time.time()) + 600,
                        "email": f"{name}@example.com", **extra}
        if self.backend.issuer:
            token_claims["iss"] = self.backend.issuer
        self.headers[name] = {"Authorization": f"Bearer {jwt.encode(token_claims, SECRET, algorithm='HS256')}"}


def sign_in_with_supabase(env) -> None:
    """Supabase access tokens signed with SECRET are how callers get in (no anonymous access)."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)


def hosted(relative: str):
    """api/<relative>'s handler on loopback for the fixture's life (a generator for a fixture)."""
    server = LoopbackServer(load_handler(relative))
    yield server.port
    server.shutdown()


def say(port: int, headers: dict, message: str, **fields):
    """A chat turn (POST /api/groupchat/chat)."""
    return call(port, "POST", "/api/groupchat/chat", {"message": message, **fields}, headers)
