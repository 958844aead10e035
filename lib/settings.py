"""Settings, read from environment variables and validated here only (documented in .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from lib.errors import ConfigError

SYSTEM_PROMPT_MAX_CHARS = 4000
REALTIME_INSTRUCTIONS_MAX_CHARS = 4000
REALTIME_VOICES = ("alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, "must be 1 or 0")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float, kind=int):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number between {low} and {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, not {raw}")
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _text(env, name)
    if value is None:
        return None
    if not value.startswith(("https://", "http://")):
        raise ConfigError(name, "must be an http(s) URL")
    return value.rstrip("/")


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


@dataclass(frozen=True)
class Access:
    """Who may call the API and from which browser origins."""

    dashboard_token: str | None
    allow_anonymous: bool
    allowed_origins: tuple[str, ...]
    supabase_url: str | None = None
    supabase_jwt_secret: str | None = None
    supabase_allow_anonymous_users: bool = False

    @property
    def supabase_auth(self) -> bool:
        """Supabase users' access tokens are accepted (HS256 secret, or the project's JWKS)."""
        return bool(self.supabase_jwt_secret or self.supabase_url)


@dataclass(frozen=True)
class HistorySettings:
    """Where conversations are kept: Supabase, else SQLite at HISTORY_DB, else nowhere."""

    supabase_url: str | None
    supabase_service_role_key: str | None
    sqlite_path: str | None
    max_chars: int
    timeout: float

    @property
    def backend(self) -> str | None:
        if self.supabase_url and self.supabase_service_role_key:
            return "supabase"
        return "sqlite" if self.sqlite_path else None


@dataclass(frozen=True)
class OpenAISettings:
    """How this server reaches OpenAI."""

    api_key: str | None
    base_url: str | None
    timeout: float


@dataclass(frozen=True)
class ChatSettings:
    """The integrated chat's model and limits."""

    model: str
    allowed_models: tuple[str, ...]
    system_prompt: str | None
    max_message_chars: int
    max_output_tokens: int = 1024
    allow_client_system_prompt: bool = True


@dataclass(frozen=True)
class Limits:
    """Spending limits per user (0 turns one off)."""

    chat_per_minute: int
    chat_per_day: int
    chat_tokens_per_day: int
    realtime_keys_per_minute: int


@dataclass(frozen=True)
class RealtimeSettings:
    """What a minted Realtime client secret allows."""

    model: str
    voice: str
    instructions: str | None
    key_ttl: int
    allowed_voices: tuple[str, ...]
    allow_client_instructions: bool


@dataclass(frozen=True)
class Brand:
    """The firm's name, logo and accent colour on the dashboard (None: the page's own defaults)."""

    name: str | None
    logo_url: str | None
    accent_color: str | None


@dataclass(frozen=True)
class DashboardSettings:
    """What the static dashboard is told (all of it public)."""

    groupchat_url: str | None
    realtime_calls_url: str
    supabase_url: str | None
    supabase_anon_key: str | None
    brand: Brand = Brand(None, None, None)
    notices: dict[str, dict[str, str | None]] = field(default_factory=dict)
    show_system_prompt: bool = False


BRAND_NAME_MAX_CHARS = 60
NOTICE_MAX_CHARS = 600
NOTICES = {"ai": "AI_DISCLOSURE", "advice": "ADVICE_NOTICE"}  # notice -> setting prefix (+ _FR, _EN)


def _brand(env: Mapping[str, str]) -> Brand:
    import re

    name = _text(env, "BRAND_NAME")
    if name is not None and len(name) > BRAND_NAME_MAX_CHARS:
        raise ConfigError("BRAND_NAME", f"must be at most {BRAND_NAME_MAX_CHARS} characters")
    logo = _text(env, "BRAND_LOGO_URL")
    if logo is not None and not (re.match(r"^/[^/\\]", logo) or logo.startswith("data:image/")):
        raise ConfigError("BRAND_LOGO_URL", "must be a path on this site (/brand/logo.svg, under public/) "
                                            "or a data:image/ URL (the page's CSP allows only these)")
    accent = _text(env, "BRAND_ACCENT_COLOR")
    if accent is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", accent):
        raise ConfigError("BRAND_ACCENT_COLOR", "must be a colour like #1d4ed8")
    return Brand(name, logo, accent.lower() if accent else None)


def _notices(env: Mapping[str, str]) -> dict[str, dict[str, str | None]]:
    notices = {}
    for notice, prefix in NOTICES.items():
        notices[notice] = {}
        for lang in ("fr", "en"):
            name = f"{prefix}_{lang.upper()}"
            text = _text(env, name)
            if text is not None and len(text) > NOTICE_MAX_CHARS:
                raise ConfigError(name, f"must be at most {NOTICE_MAX_CHARS} characters")
            notices[notice][lang] = text
    return notices


def dashboard(env: Mapping[str, str] | None = None) -> DashboardSettings:
    """Dashboard settings: GROUPCHAT_URL, REALTIME_CALLS_URL, SUPABASE_URL, SUPABASE_ANON_KEY, BRAND_*,
    AI_DISCLOSURE_FR/EN, ADVICE_NOTICE_FR/EN, DASHBOARD_SHOW_SYSTEM_PROMPT."""
    env = _env(env)
    groupchat = _text(env, "GROUPCHAT_URL")
    if groupchat is not None and not is_chatgpt_link(groupchat):
        raise ConfigError("GROUPCHAT_URL", "must be a https://chatgpt.com/... link")
    return DashboardSettings(
        groupchat_url=groupchat,
        realtime_calls_url=_url(env, "REALTIME_CALLS_URL") or "https://api.openai.com/v1/realtime/calls",
        supabase_url=_url(env, "SUPABASE_URL"),
        supabase_anon_key=_text(env, "SUPABASE_ANON_KEY"),
        brand=_brand(env),
        notices=_notices(env),
        show_system_prompt=_flag(env, "DASHBOARD_SHOW_SYSTEM_PROMPT"),
    )


def is_chatgpt_link(url: str) -> bool:
    """Only https://chatgpt.com/<something> links are group chat rooms."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.scheme == "https" and parts.hostname == "chatgpt.com" and parts.port is None
            and not parts.username and len(parts.path) > 1)


def access(env: Mapping[str, str] | None = None) -> Access:
    """Access settings: DASHBOARD_TOKEN, ALLOW_ANONYMOUS, ALLOWED_ORIGINS."""
    env = _env(env)
    origins = _names(env, "ALLOWED_ORIGINS")
    if "*" in origins:
        raise ConfigError("ALLOWED_ORIGINS", "must list exact origins; '*' is refused")
    return Access(
        dashboard_token=_text(env, "DASHBOARD_TOKEN"),
        allow_anonymous=_flag(env, "ALLOW_ANONYMOUS"),
        allowed_origins=tuple(origin.rstrip("/") for origin in origins),
        supabase_url=_url(env, "SUPABASE_URL"),
        supabase_jwt_secret=_text(env, "SUPABASE_JWT_SECRET"),
        supabase_allow_anonymous_users=_flag(env, "SUPABASE_ALLOW_ANONYMOUS_USERS"),
    )


def history(env: Mapping[str, str] | None = None) -> HistorySettings:
    """History settings: SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, HISTORY_DB, CHAT_HISTORY_MAX_CHARS."""
    env = _env(env)
    return HistorySettings(
        supabase_url=_url(env, "SUPABASE_URL"),
        supabase_service_role_key=_text(env, "SUPABASE_SERVICE_ROLE_KEY"),
        sqlite_path=_text(env, "HISTORY_DB"),
        max_chars=_number(env, "CHAT_HISTORY_MAX_CHARS", 24000, 0, 1_000_000),
        timeout=_number(env, "SUPABASE_TIMEOUT_SECONDS", 5.0, 0.5, 30, float),
    )


def openai(env: Mapping[str, str] | None = None) -> OpenAISettings:
    """OpenAI settings: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_TIMEOUT_SECONDS."""
    env = _env(env)
    return OpenAISettings(
        api_key=_text(env, "OPENAI_API_KEY"),
        base_url=_text(env, "OPENAI_BASE_URL"),
        timeout=_number(env, "OPENAI_TIMEOUT_SECONDS", 20.0, 1, 55, float),
    )


def chat(env: Mapping[str, str] | None = None) -> ChatSettings:
    """Chat settings: CHAT_MODEL, CHAT_ALLOWED_MODELS, CHAT_SYSTEM_PROMPT, CHAT_MAX_MESSAGE_CHARS."""
    env = _env(env)
    model = _text(env, "CHAT_MODEL", "gpt-4o")
    allowed = _names(env, "CHAT_ALLOWED_MODELS") or (model,)
    if model not in allowed:
        allowed = (model, *allowed)
    return ChatSettings(
        model=model,
        allowed_models=allowed,
        system_prompt=_text(env, "CHAT_SYSTEM_PROMPT"),
        max_message_chars=_number(env, "CHAT_MAX_MESSAGE_CHARS", 8000, 1, 60000),
        max_output_tokens=_number(env, "CHAT_MAX_OUTPUT_TOKENS", 1024, 1, 128000),
        allow_client_system_prompt=_flag(env, "CHAT_ALLOW_CLIENT_SYSTEM_PROMPT", True),
    )


def limits(env: Mapping[str, str] | None = None) -> Limits:
    """Limits: CHAT_RATE_LIMIT_PER_MINUTE, CHAT_DAILY_MESSAGE_LIMIT, CHAT_DAILY_TOKEN_LIMIT, REALTIME_KEY_RATE_LIMIT_PER_MINUTE."""
    env = _env(env)
    return Limits(
        chat_per_minute=_number(env, "CHAT_RATE_LIMIT_PER_MINUTE", 20, 0, 1_000_000),
        chat_per_day=_number(env, "CHAT_DAILY_MESSAGE_LIMIT", 500, 0, 10_000_000),
        chat_tokens_per_day=_number(env, "CHAT_DAILY_TOKEN_LIMIT", 0, 0, 10_000_000_000),
        realtime_keys_per_minute=_number(env, "REALTIME_KEY_RATE_LIMIT_PER_MINUTE", 5, 0, 1_000_000),
    )


def realtime(env: Mapping[str, str] | None = None) -> RealtimeSettings:
    """Realtime settings: REALTIME_MODEL, REALTIME_VOICE, REALTIME_INSTRUCTIONS, REALTIME_KEY_TTL, ..."""
    env = _env(env)
    voice = _text(env, "REALTIME_VOICE", "marin")
    allowed = _names(env, "REALTIME_ALLOWED_VOICES") or REALTIME_VOICES
    if voice not in allowed:
        allowed = (voice, *allowed)
    return RealtimeSettings(
        model=_text(env, "REALTIME_MODEL", "gpt-realtime"),
        voice=voice,
        instructions=_text(env, "REALTIME_INSTRUCTIONS"),
        key_ttl=_number(env, "REALTIME_KEY_TTL", 600, 10, 7200),
        allowed_voices=allowed,
        allow_client_instructions=_flag(env, "REALTIME_ALLOW_CLIENT_INSTRUCTIONS"),
    )
