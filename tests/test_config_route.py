"""GET /api/config: what the dashboard is told, with no credentials and no secrets."""

import pytest

from tests.helpers import CANARY_KEY, call


@pytest.fixture
def config(config_server):
    return config_server.port


def test_defaults(config):
    reply = call(config, "GET", "/api/config")
    assert reply.status == 200
    assert reply.json() == {
        "groupchatUrl": None,
        "auth": {"supabase": None, "token": False, "anonymous": True, "allowSignup": False}, "history": False,
        "clientSystemPrompt": True,
        "showSystemPrompt": False, "brand": {"name": None, "logoUrl": None, "accentColor": None},
        "notices": {"ai": {"fr": None, "en": None}, "advice": {"fr": None, "en": None}},
        "welcome": {"subtitle": {"fr": None, "en": None}, "examples": {"fr": [], "en": []}},
        "masking": True,
    }


def test_the_page_is_told_whether_identifiers_are_masked(config, env):
    env.setenv("MASK_IDENTIFIERS", "none")
    assert call(config, "GET", "/api/config").json()["masking"] is False
    env.setenv("MASK_IDENTIFIERS", "iban")
    assert call(config, "GET", "/api/config").json()["masking"] is True


def test_it_needs_no_credentials_even_when_the_api_is_closed(config, env):
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("DASHBOARD_TOKEN", "secret-dashboard-token")
    reply = call(config, "GET", "/api/config")
    assert reply.status == 200 and reply.json()["auth"]["token"] is True
    assert "secret-dashboard-token" not in reply.text


def test_it_tells_the_group_link_supabase_sign_in_and_history(config, env, tmp_path):
    env.setenv("GROUPCHAT_URL", "https://chatgpt.com/gg/abc123")
    env.setenv("SUPABASE_URL", "https://ref.supabase.co")
    env.setenv("SUPABASE_ANON_KEY", "anon-public-key")
    env.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-canary")
    env.setenv("SUPABASE_JWT_SECRET", "jwt-secret-canary")
    env.setenv("CHAT_ALLOW_CLIENT_SYSTEM_PROMPT", "0")
    reply = call(config, "GET", "/api/config")
    body = reply.json()
    assert body["groupchatUrl"] == "https://chatgpt.com/gg/abc123"
    assert body["auth"]["supabase"] == {"url": "https://ref.supabase.co", "anonKey": "anon-public-key"}
    assert body["history"] is True and body["clientSystemPrompt"] is False
    for secret in ("service-role-canary", "jwt-secret-canary", CANARY_KEY):
        assert secret not in reply.text


@pytest.mark.parametrize("link", ["http://chatgpt.com/gg/x", "https://evil.com/gg/x", "https://chatgpt.com.evil.com/x",
                                  "https://chatgpt.com/", "javascript:alert(1)", "https://user@chatgpt.com/gg/x"])
def test_a_group_link_that_is_not_chatgpt_is_a_config_error(config, env, link):
    env.setenv("GROUPCHAT_URL", link)
    reply = call(config, "GET", "/api/config")
    assert (reply.status, reply.json()["error"]["setting"]) == (500, "GROUPCHAT_URL")


def test_only_get(config):
    assert call(config, "POST", "/api/config", {}).status == 405


def test_it_tells_the_brand_the_notices_and_whether_to_show_the_system_prompt(config, env):
    env.setenv("BRAND_NAME", "Banque Exemple")
    env.setenv("BRAND_LOGO_URL", "/brand/logo.svg")
    env.setenv("BRAND_ACCENT_COLOR", "#0A5C36")
    env.setenv("AI_DISCLOSURE_FR", "Vous échangez avec une IA de la Banque Exemple.")
    env.setenv("ADVICE_NOTICE_EN", "General information only.")
    env.setenv("DASHBOARD_SHOW_SYSTEM_PROMPT", "1")
    body = call(config, "GET", "/api/config").json()
    assert body["brand"] == {"name": "Banque Exemple", "logoUrl": "/brand/logo.svg", "accentColor": "#0a5c36"}
    assert body["notices"] == {"ai": {"fr": "Vous échangez avec une IA de la Banque Exemple.", "en": None},
                               "advice": {"fr": None, "en": "General information only."}}
    assert body["showSystemPrompt"] is True


@pytest.mark.parametrize("setting, value", [
    ("BRAND_ACCENT_COLOR", "blue"), ("BRAND_ACCENT_COLOR", "#12345"), ("BRAND_LOGO_URL", "https://cdn.example/l.png"),
    ("BRAND_LOGO_URL", "//evil.example/l.png"), ("BRAND_LOGO_URL", "javascript:alert(1)"), ("BRAND_NAME", "x" * 61),
    ("AI_DISCLOSURE_FR", "x" * 601), ("DASHBOARD_SHOW_SYSTEM_PROMPT", "peut-être"),
])
def test_a_bad_brand_or_notice_is_a_config_error_naming_it(config, env, setting, value):
    env.setenv(setting, value)
    reply = call(config, "GET", "/api/config")
    assert (reply.status, reply.json()["error"]["setting"]) == (500, setting)


ADMIN, MEMBER = "Admin:admin-token-0123456789abcdef", "Camille:camille-token-0123456789ab"


@pytest.mark.parametrize("authorization, sees", [
    ("Bearer admin-token-0123456789abcdef", True), ("Bearer camille-token-0123456789ab", False),
    ("Bearer wrong-token-0123456789abcdef", False), (None, False)])
def test_an_admin_is_told_where_each_part_runs_and_no_one_else(config, env, authorization, sees):
    env.setenv("DASHBOARD_TOKENS", f"{ADMIN},{MEMBER}")
    env.setenv("ADMIN_TOKEN_NAMES", "Admin")
    env.setenv("VERCEL_REGION", "cdg1")
    env.setenv("OPENAI_BASE_URL", "https://eu.api.openai.com/v1")
    env.setenv("SUPABASE_URL", "https://abcd1234.supabase.co")
    env.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-secret-value")
    env.setenv("MASK_IDENTIFIERS", "iban,email")
    env.setenv("MODERATION", "on")
    reply = call(config, "GET", "/api/config", headers={"Authorization": authorization} if authorization else {})
    assert reply.status == 200
    if not sees:
        assert "placement" not in reply.json()
        return
    assert reply.json()["placement"] == {
        "functions": {"region": "cdg1"}, "openai": {"host": "eu.api.openai.com", "residency": "eu"},
        "history": {"backend": "supabase", "host": "abcd1234.supabase.co"},
        "maskedIdentifiers": ["iban", "email"], "moderation": True}
    for secret in ("service-role-secret-value", CANARY_KEY, "admin-token", "camille-token"):
        assert secret not in reply.text


def test_the_functions_are_placed_in_paris_by_default():
    import json

    from tests.helpers import ROOT

    assert json.loads((ROOT / "vercel.json").read_text())["regions"] == ["cdg1"]
