"""Settings, read from environment variables and validated here only (documented in .env.example)."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from lib.errors import ConfigError

SYSTEM_PROMPT_MAX_CHARS = 4000
REALTIME_INSTRUCTIONS_MAX_CHARS = 4000
# Each function's platform limit in seconds: vercel.json's maxDuration, equal by tests/test_deadlines.py (README,
# "Time bounds"). Every request ends DEADLINE_MARGIN_SECONDS before it, so our answer comes before Vercel's 504.
MAX_DURATION_SECONDS = {
    "groupchat/chat": 300, "groupchat/members": 10, "realtime/key": 60, "realtime/call": 60,
    "realtime/transcript": 15, "config": 10, "admin/audit": 10, "me/data": 30, "cron/retention": 60,
    "admin/usage": 10, "groupchat/feedback": 10, "admin/feedback": 10,
}
DEADLINE_MARGIN_SECONDS = 5.0
HEARTBEAT_SECONDS = 8.0  # a stream with nothing to say sends an SSE comment this often (at most 10 s apart)
# Current models with no announced shutdown (tests/test_model_lifecycle.py checks the installed SDK's notes).
DEFAULT_CHAT_MODEL = "gpt-5.5"
DEFAULT_REALTIME_MODEL = "gpt-realtime-2"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-transcribe"
IDENTIFIER_KINDS = ("iban", "card", "nir", "siren", "phone", "email")  # what MASK_IDENTIFIERS may name
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
REALTIME_VOICES = ("alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _per_environment(build):
    """`build(env)`, built again only when the process environment has changed (it is read on every request)."""
    last: list[tuple | None] = [None]  # (snapshot, settings), replaced whole so a thread never sees half of it

    @functools.wraps(build)
    def settings(env: Mapping[str, str] | None = None):
        if env is not None:
            return build(env)
        # os.environ's own bytes (no decoding; unchanged values compare by identity), or whatever mapping stands in
        snapshot = tuple(getattr(os.environ, "_data", os.environ).items())
        memo = last[0]
        if memo is not None and memo[0] == snapshot:
            return memo[1]
        value = build(os.environ)
        last[0] = (snapshot, value)
        return value

    return settings


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
    named_tokens: tuple[tuple[str, str], ...] = ()  # (name, token) pairs from DASHBOARD_TOKENS
    anonymous_history: bool = True  # False on Vercel: anonymous callers share no stored history there
    admin_token_names: tuple[str, ...] = ()  # ADMIN_TOKEN_NAMES: the DASHBOARD_TOKENS names that are admins

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
    ca_file: str | None = None  # SSL_CERT_FILE: the certificates the streamed chat trusts instead of certifi's
    proxy: str | None = None  # the http:// proxy the environment names for base_url (HTTPS_PROXY, NO_PROXY...)


@dataclass(frozen=True)
class ChatSettings:
    """The integrated chat's model and limits."""

    model: str
    allowed_models: tuple[str, ...]
    system_prompt: str | None
    max_message_chars: int
    max_output_tokens: int = 4096
    allow_client_system_prompt: bool = True
    reasoning_effort: str | None = None
    masked_kinds: tuple[str, ...] = IDENTIFIER_KINDS  # client identifiers masked before OpenAI (lib/masking.py)
    moderation: bool = False  # each new message checked with OpenAI's moderation endpoint first

    def completion_options(self) -> dict:
        """What every Chat Completions request adds to model and messages (reasoning models refuse temperature)."""
        options = {"max_completion_tokens": self.max_output_tokens}
        if self.reasoning_effort:
            options["reasoning_effort"] = self.reasoning_effort
        return options


@dataclass(frozen=True)
class Limits:
    """Spending limits per user and for the whole deployment (0 turns one off)."""

    chat_per_minute: int
    chat_per_day: int
    chat_tokens_per_day: int
    realtime_keys_per_minute: int
    realtime_sessions_per_day: int = 10
    global_messages_per_day: int = 2000
    global_tokens_per_day: int = 2_000_000
    global_voice_sessions_per_day: int = 50


@dataclass(frozen=True)
class RealtimeSettings:
    """What a minted Realtime client secret allows."""

    model: str
    voice: str
    instructions: str | None
    key_ttl: int
    allowed_voices: tuple[str, ...]
    allow_client_instructions: bool
    transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL


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
    supabase_url: str | None
    supabase_anon_key: str | None
    allow_signup: bool = False
    brand: Brand = Brand(None, None, None)
    notices: dict[str, dict[str, str | None]] = field(default_factory=dict)
    show_system_prompt: bool = False
    welcome: dict[str, dict] = field(default_factory=dict)


BRAND_NAME_MAX_CHARS = 60
NOTICE_MAX_CHARS = 600
NOTICES = {"ai": "AI_DISCLOSURE", "advice": "ADVICE_NOTICE"}  # notice -> setting prefix (+ _FR, _EN)


def _brand(env: Mapping[str, str]) -> Brand:
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


WELCOME_MAX_CHARS = 200
WELCOME_EXAMPLES_MAX = 4


def _welcome(env: Mapping[str, str]) -> dict[str, dict]:
    """The first screen's subtitle and example questions per language (None / []: the page's safe defaults)."""
    welcome: dict[str, dict] = {"subtitle": {}, "examples": {}}
    for lang in ("fr", "en"):
        name = f"DASHBOARD_SUBTITLE_{lang.upper()}"
        subtitle = _text(env, name)
        if subtitle is not None and len(subtitle) > WELCOME_MAX_CHARS:
            raise ConfigError(name, f"must be at most {WELCOME_MAX_CHARS} characters")
        welcome["subtitle"][lang] = subtitle
        name = f"DASHBOARD_EXAMPLES_{lang.upper()}"
        examples = [part.strip() for part in env.get(name, "").split("|") if part.strip()]
        if len(examples) > WELCOME_EXAMPLES_MAX or any(len(example) > WELCOME_MAX_CHARS for example in examples):
            raise ConfigError(name, f"must be at most {WELCOME_EXAMPLES_MAX} questions separated by |, each at most "
                                    f"{WELCOME_MAX_CHARS} characters")
        welcome["examples"][lang] = examples
    return welcome


@_per_environment
def dashboard(env: Mapping[str, str] | None = None) -> DashboardSettings:
    """Dashboard settings: GROUPCHAT_URL, SUPABASE_URL, SUPABASE_ANON_KEY, AUTH_ALLOW_SIGNUP, BRAND_*,
    AI_DISCLOSURE_FR/EN, ADVICE_NOTICE_FR/EN, DASHBOARD_SHOW_SYSTEM_PROMPT, DASHBOARD_SUBTITLE_FR/EN,
    DASHBOARD_EXAMPLES_FR/EN."""
    env = _env(env)
    groupchat = _text(env, "GROUPCHAT_URL")
    if groupchat is not None and not is_chatgpt_link(groupchat):
        raise ConfigError("GROUPCHAT_URL", "must be a https://chatgpt.com/... link")
    return DashboardSettings(
        groupchat_url=groupchat,
        supabase_url=_url(env, "SUPABASE_URL"),
        supabase_anon_key=_text(env, "SUPABASE_ANON_KEY"),
        allow_signup=_flag(env, "AUTH_ALLOW_SIGNUP"),
        brand=_brand(env),
        notices=_notices(env),
        show_system_prompt=_flag(env, "DASHBOARD_SHOW_SYSTEM_PROMPT"),
        welcome=_welcome(env),
    )


def is_chatgpt_link(url: str) -> bool:
    """Only https://chatgpt.com/<something> links are group chat rooms."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.scheme == "https" and parts.hostname == "chatgpt.com" and parts.port is None
            and not parts.username and len(parts.path) > 1)


@_per_environment
def access(env: Mapping[str, str] | None = None) -> Access:
    """Access settings: DASHBOARD_TOKEN, DASHBOARD_TOKENS, ADMIN_TOKEN_NAMES, ALLOW_ANONYMOUS(_ON_VERCEL),
    ALLOWED_ORIGINS."""
    env = _env(env)
    origins = _names(env, "ALLOWED_ORIGINS")
    if "*" in origins:
        raise ConfigError("ALLOWED_ORIGINS", "must list exact origins; '*' is refused")
    allow_anonymous = _flag(env, "ALLOW_ANONYMOUS")
    on_vercel = env.get("VERCEL", "").strip() == "1"
    if allow_anonymous and on_vercel and not _flag(env, "ALLOW_ANONYMOUS_ON_VERCEL"):
        raise ConfigError("ALLOW_ANONYMOUS", "is refused on a Vercel deployment: anyone could spend on the OpenAI "
                                             "key (set ALLOW_ANONYMOUS_ON_VERCEL=1 to accept that)")
    dashboard_token = _text(env, "DASHBOARD_TOKEN")
    named_tokens = _named_tokens(env, dashboard_token)
    if on_vercel and any(token.startswith(LOCAL_TOKEN_PREFIX) for _, token in named_tokens):
        raise ConfigError("DASHBOARD_TOKENS", "holds .env.example's local-only tokens, which are public: refused on "
                                              "a Vercel deployment (give each person a long random token)")
    admins = _names(env, "ADMIN_TOKEN_NAMES")
    if set(admins) - {name for name, _ in named_tokens}:
        raise ConfigError("ADMIN_TOKEN_NAMES", "must name only names from DASHBOARD_TOKENS")
    return Access(
        dashboard_token=dashboard_token,
        allow_anonymous=allow_anonymous,
        allowed_origins=tuple(origin.rstrip("/") for origin in origins),
        supabase_url=_url(env, "SUPABASE_URL"),
        supabase_jwt_secret=_text(env, "SUPABASE_JWT_SECRET"),
        supabase_allow_anonymous_users=_flag(env, "SUPABASE_ALLOW_ANONYMOUS_USERS"),
        named_tokens=named_tokens,
        anonymous_history=not on_vercel,
        admin_token_names=admins,
    )


_TOKEN_NAME = re.compile(r"^[\w.@-][\w .@-]{0,63}$")
NAMED_TOKEN_MIN_CHARS = 16
LOCAL_TOKEN_PREFIX = "local-only-"  # .env.example's tokens for trying a room locally, published in this repository


def _named_tokens(env: Mapping[str, str], dashboard_token: str | None) -> tuple[tuple[str, str], ...]:
    """DASHBOARD_TOKENS=name:token,name:token: each name a separate user; names and tokens unique."""
    pairs: list[tuple[str, str]] = []
    for entry in _names(env, "DASHBOARD_TOKENS"):
        name, colon, token = (part.strip() for part in entry.partition(":"))
        if not colon or not _TOKEN_NAME.match(name):
            raise ConfigError("DASHBOARD_TOKENS", "must be name:token pairs, comma-separated (names of letters, "
                                                  "digits, spaces, . @ _ -; at most 64 characters)")
        if len(token) < NAMED_TOKEN_MIN_CHARS or any(char.isspace() for char in token):
            raise ConfigError("DASHBOARD_TOKENS", f"has a token for {name!r} shorter than {NAMED_TOKEN_MIN_CHARS} "
                                                  "characters or with spaces")
        if any(name == other for other, _ in pairs) or token == dashboard_token or any(token == t for _, t in pairs):
            raise ConfigError("DASHBOARD_TOKENS", f"repeats a name or a token ({name!r})")
        pairs.append((name, token))
    return tuple(pairs)


@_per_environment
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


@_per_environment
def openai(env: Mapping[str, str] | None = None) -> OpenAISettings:
    """OpenAI settings: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_TIMEOUT_SECONDS (and SSL_CERT_FILE, *_PROXY)."""
    env = _env(env)
    return OpenAISettings(
        api_key=_text(env, "OPENAI_API_KEY"),
        base_url=_text(env, "OPENAI_BASE_URL"),
        timeout=_number(env, "OPENAI_TIMEOUT_SECONDS", 20.0, 1, 55, float),
        ca_file=_text(env, "SSL_CERT_FILE"),
        proxy=_proxy_for(env, _text(env, "OPENAI_BASE_URL", "https://api.openai.com/v1")),
    )


def _proxy_for(env: Mapping[str, str], url: str) -> str | None:
    """The proxy for `url` as httpx and urllib read the environment: <scheme>_proxy, else all_proxy, unless
    no_proxy matches; either case, lower case first. The streamed chat's http.client speaks to http:// ones."""
    from urllib.parse import urlsplit
    from urllib.request import proxy_bypass_environment

    def named(name: str) -> tuple[str, str | None]:
        for spelled in (name, name.upper()):
            if env.get(spelled, "").strip():
                return spelled, env[spelled].strip()
        return name.upper(), None

    parts = urlsplit(url)
    name, proxy = named(f"{parts.scheme}_proxy")
    if proxy is None:
        name, proxy = named("all_proxy")
    no_proxy = named("no_proxy")[1]
    if proxy is None or (no_proxy and parts.hostname and proxy_bypass_environment(parts.hostname, {"no": no_proxy})):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy  # as httpx reads a proxy without a scheme
    if not proxy.lower().startswith("http://") or not urlsplit(proxy).hostname:
        raise ConfigError(name, "must be an http:// proxy URL (http://[user:password@]host:port)")
    return proxy


@_per_environment
def chat(env: Mapping[str, str] | None = None) -> ChatSettings:
    """Chat settings: CHAT_MODEL, CHAT_ALLOWED_MODELS, CHAT_SYSTEM_PROMPT, CHAT_MAX_MESSAGE_CHARS, ..."""
    env = _env(env)
    model = _text(env, "CHAT_MODEL", DEFAULT_CHAT_MODEL)
    effort = _text(env, "CHAT_REASONING_EFFORT")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise ConfigError("CHAT_REASONING_EFFORT", f"must be one of {', '.join(REASONING_EFFORTS)}, not {effort!r}")
    allowed = _names(env, "CHAT_ALLOWED_MODELS") or (model,)
    if model not in allowed:
        allowed = (model, *allowed)
    return ChatSettings(
        model=model,
        allowed_models=allowed,
        system_prompt=_text(env, "CHAT_SYSTEM_PROMPT"),
        max_message_chars=_number(env, "CHAT_MAX_MESSAGE_CHARS", 8000, 1, 60000),
        max_output_tokens=_number(env, "CHAT_MAX_OUTPUT_TOKENS", 4096, 1, 128000),
        allow_client_system_prompt=_flag(env, "CHAT_ALLOW_CLIENT_SYSTEM_PROMPT", True),
        reasoning_effort=effort,
        masked_kinds=_masked_kinds(env),
        moderation=_flag(env, "MODERATION"),
    )


def _masked_kinds(env: Mapping[str, str]) -> tuple[str, ...]:
    """MASK_IDENTIFIERS: `all` (the default), `none`, or some of iban, card, nir, siren, phone, email."""
    raw = env.get("MASK_IDENTIFIERS", "").strip().lower()
    if raw in ("", "all"):
        return IDENTIFIER_KINDS
    if raw == "none":
        return ()
    kinds = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in IDENTIFIER_KINDS]
    if unknown or not kinds:
        raise ConfigError("MASK_IDENTIFIERS", f"must be all, none, or some of {', '.join(IDENTIFIER_KINDS)}, "
                                              f"not {raw!r}")
    return tuple(kind for kind in IDENTIFIER_KINDS if kind in kinds)


@_per_environment
def limits(env: Mapping[str, str] | None = None) -> Limits:
    """Limits per user (CHAT_RATE_LIMIT_PER_MINUTE, CHAT_DAILY_MESSAGE_LIMIT, CHAT_DAILY_TOKEN_LIMIT,
    REALTIME_KEY_RATE_LIMIT_PER_MINUTE, REALTIME_DAILY_SESSION_LIMIT) and for the deployment (GLOBAL_DAILY_*)."""
    env = _env(env)
    return Limits(
        chat_per_minute=_number(env, "CHAT_RATE_LIMIT_PER_MINUTE", 20, 0, 1_000_000),
        chat_per_day=_number(env, "CHAT_DAILY_MESSAGE_LIMIT", 500, 0, 10_000_000),
        chat_tokens_per_day=_number(env, "CHAT_DAILY_TOKEN_LIMIT", 0, 0, 10_000_000_000),
        realtime_keys_per_minute=_number(env, "REALTIME_KEY_RATE_LIMIT_PER_MINUTE", 5, 0, 1_000_000),
        realtime_sessions_per_day=_number(env, "REALTIME_DAILY_SESSION_LIMIT", 10, 0, 1_000_000),
        global_messages_per_day=_number(env, "GLOBAL_DAILY_MESSAGE_LIMIT", 2000, 0, 100_000_000),
        global_tokens_per_day=_number(env, "GLOBAL_DAILY_TOKEN_LIMIT", 2_000_000, 0, 100_000_000_000),
        global_voice_sessions_per_day=_number(env, "GLOBAL_DAILY_VOICE_SESSION_LIMIT", 50, 0, 10_000_000),
    )


@_per_environment
def realtime(env: Mapping[str, str] | None = None) -> RealtimeSettings:
    """Realtime settings: REALTIME_MODEL, REALTIME_VOICE, REALTIME_INSTRUCTIONS, REALTIME_KEY_TTL, ..."""
    env = _env(env)
    voice = _text(env, "REALTIME_VOICE", "marin")
    allowed = _names(env, "REALTIME_ALLOWED_VOICES") or REALTIME_VOICES
    if voice not in allowed:
        allowed = (voice, *allowed)
    return RealtimeSettings(
        model=_text(env, "REALTIME_MODEL", DEFAULT_REALTIME_MODEL),
        voice=voice,
        instructions=_text(env, "REALTIME_INSTRUCTIONS"),
        key_ttl=_number(env, "REALTIME_KEY_TTL", 600, 10, 7200),
        allowed_voices=allowed,
        allow_client_instructions=_flag(env, "REALTIME_ALLOW_CLIENT_INSTRUCTIONS"),
        transcription_model=_text(env, "REALTIME_TRANSCRIPTION_MODEL", DEFAULT_TRANSCRIPTION_MODEL),
    )


@dataclass(frozen=True)
class Controls:
    """The firm's controls: how long history and the audit trail are kept, the cron secret, usage prices."""

    history_retention_days: int  # 0: kept until deleted
    audit_retention_days: int  # 0: kept for good
    cron_secret: str | None
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # model -> (input, output) USD per 1M tokens
    voice_usd_per_minute: float = 0.0
    eur_per_usd: float = 1.0


CRON_SECRET_MIN_CHARS = 16


@_per_environment
def controls(env: Mapping[str, str] | None = None) -> Controls:
    """HISTORY_RETENTION_DAYS, AUDIT_RETENTION_DAYS, CRON_SECRET, USAGE_PRICES_USD, USAGE_VOICE_USD_PER_MINUTE,
    USAGE_EUR_PER_USD."""
    env = _env(env)
    history_days = _number(env, "HISTORY_RETENTION_DAYS", 0, 0, 36500)
    audit_days = _number(env, "AUDIT_RETENTION_DAYS", 0, 0, 36500)
    if audit_days and (not history_days or audit_days < history_days):
        raise ConfigError("AUDIT_RETENTION_DAYS", "must be 0 (kept for good) or at least HISTORY_RETENTION_DAYS "
                                                  "(the trail outlives what it describes)")
    secret = _text(env, "CRON_SECRET")
    if secret is not None and len(secret) < CRON_SECRET_MIN_CHARS:
        raise ConfigError("CRON_SECRET", f"must be at least {CRON_SECRET_MIN_CHARS} characters")
    return Controls(history_days, audit_days, secret, _prices(env),
                    _number(env, "USAGE_VOICE_USD_PER_MINUTE", 0.0, 0, 100, float),
                    _number(env, "USAGE_EUR_PER_USD", 1.0, 0.01, 100, float))


def _prices(env: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """USAGE_PRICES_USD=model:input/output,...: USD per million tokens, per model."""
    prices = {}
    for entry in _names(env, "USAGE_PRICES_USD"):
        model, _, pair = entry.partition(":")
        try:
            low, high = (float(part) for part in pair.split("/"))
        except ValueError:
            raise ConfigError("USAGE_PRICES_USD", "must be model:input/output pairs in USD per million tokens, "
                                                  "comma-separated (e.g. gpt-5.5:1.25/10)") from None
        if not (0 <= low <= 1000 and 0 <= high <= 1000) or not model.strip():
            raise ConfigError("USAGE_PRICES_USD", "must name a model and prices between 0 and 1000")
        prices[model.strip()] = (low, high)
    return prices


def vercel_region(env: Mapping[str, str] | None = None) -> str | None:
    """VERCEL_REGION: the region Vercel runs this instance in (set by Vercel at run time; None elsewhere)."""
    return _text(_env(env), "VERCEL_REGION")


def on_vercel(env: Mapping[str, str] | None = None) -> bool:
    """Running in Vercel's runtime (VERCEL=1): only there are its request headers (x-vercel-id...) Vercel's own."""
    return _env(env).get("VERCEL") == "1"


def check(env: Mapping[str, str] | None = None) -> ConfigError | None:
    """The first setting that is refused (every group of settings read once), or None when all are usable."""
    for group in (dashboard, access, history, openai, chat, limits, realtime, controls):
        try:
            group(env)
        except ConfigError as error:
            return error
    return None
