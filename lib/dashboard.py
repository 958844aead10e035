"""What the static dashboard needs to know at load time: public settings only, never a secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from lib import settings

EU_OPENAI_HOSTS = ("eu.api.openai.com",)  # OpenAI's European data residency endpoint (README, Where data goes)


def config() -> dict:
    """GET /api/config: the group chat link, how to sign in, what is available, the brand and the notices."""
    board = settings.dashboard()
    access = settings.access()
    history = settings.history()
    supabase = None
    if board.supabase_url and board.supabase_anon_key:
        supabase = {"url": board.supabase_url, "anonKey": board.supabase_anon_key}
    return {
        "groupchatUrl": board.groupchat_url,
        "auth": {"supabase": supabase, "token": bool(access.dashboard_token or access.named_tokens),
                 "anonymous": access.allow_anonymous, "allowSignup": board.allow_signup},
        "history": history.backend is not None,
        "clientSystemPrompt": settings.chat().allow_client_system_prompt,
        "showSystemPrompt": board.show_system_prompt,
        "brand": {"name": board.brand.name, "logoUrl": board.brand.logo_url, "accentColor": board.brand.accent_color},
        "notices": board.notices,
        "welcome": board.welcome,
        "masking": bool(settings.chat().masked_kinds),  # whether the page says identifiers are masked
    }


def config_for(authorization: str | None) -> dict:
    """GET /api/config: the public settings; for an admin (their credential sent), also where each part runs."""
    body = config()
    if authorization and _is_admin(authorization):
        body["placement"] = placement()
    return body


def _is_admin(authorization: str) -> bool:
    """Whether the credential is an admin's; any failure is a no (the route stays public)."""
    from lib.access import authenticate
    from lib.errors import ApiError

    try:
        return authenticate(authorization, settings.access()).admin
    except ApiError:
        return False


def placement() -> dict:
    """Where each part is configured to run: hosts and regions only, never a key, a path or a credential."""
    openai_host = urlsplit(settings.openai().base_url or "https://api.openai.com/v1").hostname
    history = settings.history()
    chat = settings.chat()
    return {
        "functions": {"region": settings.vercel_region()},
        "openai": {"host": openai_host,
                   "residency": "eu" if openai_host in EU_OPENAI_HOSTS else (
                       "global" if openai_host == "api.openai.com" else "other")},
        "history": {"backend": history.backend,
                    "host": urlsplit(history.supabase_url).hostname if history.backend == "supabase" else None},
        "maskedIdentifiers": list(chat.masked_kinds),
        "moderation": chat.moderation,
    }
