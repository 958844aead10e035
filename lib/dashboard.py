"""What the static dashboard needs to know at load time: public settings only, never a secret."""

from __future__ import annotations

from lib import settings


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
    }
