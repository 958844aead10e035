"""No shared identities unless chosen: named dashboard tokens, anonymous access on Vercel, sign-up by magic link."""

import uuid

import pytest

from lib import access, settings
from lib.errors import ConfigError
from tests.helpers import call, freeze_limit_clock

CHAT, KEY = "/api/groupchat/chat", "/api/realtime/key"
ALICE_TOKEN, BOB_TOKEN, SHARED_TOKEN = "alice-token-0123456789", "bob-token-0123456789ab", "shared-token-0123"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


ALICE, BOB, SHARED = bearer(ALICE_TOKEN), bearer(BOB_TOKEN), bearer(SHARED_TOKEN)


@pytest.fixture
def tokens(backend, env, fake_openai) -> str:
    """Alice and Bob each hold a named token, beside the one DASHBOARD_TOKEN; history in each store.
    Alice's name, new in each test (the Supabase database lives for the whole run)."""
    alice = f"Alice {uuid.uuid4().hex[:8]}"
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("DASHBOARD_TOKENS", f"{alice}:{ALICE_TOKEN}, Bob {uuid.uuid4().hex[:8]}:{BOB_TOKEN}")
    env.setenv("DASHBOARD_TOKEN", SHARED_TOKEN)
    return alice


def conversations_of(port, who) -> list[str]:
    reply = call(port, "GET", CHAT, headers=who)
    assert reply.status == 200, reply.text
    return [conversation["id"] for conversation in reply.json()["conversations"]]


@pytest.mark.stores("sqlite")  # Supabase keeps history for its own users only
def test_two_token_holders_do_not_see_each_others_conversations(chat, tokens):
    mine = call(chat, "POST", CHAT, {"message": "Mon portefeuille"}, ALICE).json()["conversationId"]
    assert conversations_of(chat, ALICE) == [mine]
    assert conversations_of(chat, BOB) == [] and mine not in conversations_of(chat, SHARED)
    assert call(chat, "GET", f"{CHAT}?conversationId={mine}", headers=BOB).status == 404
    assert call(chat, "DELETE", f"{CHAT}?conversationId={mine}", headers=BOB).status == 404
    assert call(chat, "POST", CHAT, {"message": "et moi ?", "conversationId": mine}, BOB).status == 404
    assert conversations_of(chat, ALICE) == [mine]


@pytest.mark.stores("supabase")
def test_on_supabase_token_holders_keep_no_history_and_see_none(chat, tokens):
    reply = call(chat, "POST", CHAT, {"message": "Mon portefeuille"}, ALICE).json()
    assert (reply["saved"], reply["warning"]["code"]) == (False, "history_disabled")
    assert conversations_of(chat, ALICE) == [] and conversations_of(chat, BOB) == []
    assert call(chat, "GET", f"{CHAT}?conversationId={reply['conversationId']}", headers=BOB).status == 404


def test_each_token_holder_has_their_own_allowance(chat, tokens, env):
    freeze_limit_clock(env)
    env.setenv("CHAT_RATE_LIMIT_PER_MINUTE", "1")
    assert [call(chat, "POST", CHAT, {"message": "hi"}, who).status for who in (ALICE, ALICE, BOB, SHARED)] == [
        200, 429, 200, 200]


@pytest.mark.stores("sqlite")
def test_a_token_is_removed_alone_and_rotated_without_losing_its_history(chat, tokens, env):
    mine = call(chat, "POST", CHAT, {"message": "à garder"}, ALICE).json()["conversationId"]
    env.setenv("DASHBOARD_TOKENS", f"{tokens}:{ALICE_TOKEN}")
    assert call(chat, "GET", CHAT, headers=BOB).status == 401
    assert conversations_of(chat, ALICE) == [mine]
    env.setenv("DASHBOARD_TOKENS", f"{tokens}:a-brand-new-token-for-alice")
    assert call(chat, "GET", CHAT, headers=ALICE).status == 401
    assert conversations_of(chat, bearer("a-brand-new-token-for-alice")) == [mine]  # the id follows the name


def test_a_named_token_caller_carries_its_name():
    config = settings.access({"DASHBOARD_TOKENS": f"Alice:{ALICE_TOKEN},Bob:{BOB_TOKEN}",
                              "DASHBOARD_TOKEN": SHARED_TOKEN})
    alice, bob = access.authenticate(f"Bearer {ALICE_TOKEN}", config), access.authenticate(f"Bearer {BOB_TOKEN}", config)
    assert (alice.kind, alice.name, bob.name) == ("token", "Alice", "Bob")
    assert len({alice.user_id, bob.user_id, access.TOKEN_USER_ID}) == 3
    assert access.authenticate(f"Bearer {SHARED_TOKEN}", config).user_id == access.TOKEN_USER_ID  # unchanged


@pytest.mark.parametrize("value", [
    "Alice", f":{ALICE_TOKEN}", "Alice:short", f"Alice:{ALICE_TOKEN},Alice:{BOB_TOKEN}",
    f"Alice:{ALICE_TOKEN},Bob:{ALICE_TOKEN}", f"Alice:{SHARED_TOKEN}", "Alice:has a space in it ok",
])
def test_a_bad_token_list_is_a_config_error(value):
    with pytest.raises(ConfigError) as raised:
        settings.access({"DASHBOARD_TOKENS": value, "DASHBOARD_TOKEN": SHARED_TOKEN})
    assert raised.value.extra["setting"] == "DASHBOARD_TOKENS"
    assert ALICE_TOKEN not in raised.value.message and BOB_TOKEN not in raised.value.message


def test_the_example_files_local_tokens_are_refused_on_vercel():
    local = "Camille:local-only-camille-0001,Conseiller:local-only-conseiller-0002"
    assert len(settings.access({"DASHBOARD_TOKENS": local}).named_tokens) == 2  # fine on this machine
    with pytest.raises(ConfigError) as raised:
        settings.access({"DASHBOARD_TOKENS": local, "VERCEL": "1"})
    assert raised.value.extra["setting"] == "DASHBOARD_TOKENS"
    assert "local-only-camille" not in raised.value.message


def test_named_tokens_alone_open_the_api(chat, env, fake_openai):
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("DASHBOARD_TOKENS", f"Alice:{ALICE_TOKEN}")
    assert call(chat, "POST", CHAT, {"message": "hi"}).status == 401
    assert call(chat, "POST", CHAT, {"message": "hi"}, ALICE).status == 200


@pytest.mark.parametrize("path", [CHAT, KEY])
def test_anonymous_access_on_vercel_is_refused_as_a_misconfiguration(chat, key, env, fake_openai, path):
    env.setenv("VERCEL", "1")
    reply = call(chat if path == CHAT else key, "POST", path, {"message": "hi"} if path == CHAT else None)
    assert (reply.status, reply.error_code, reply.json()["error"]["setting"]) == (500, "misconfigured",
                                                                                  "ALLOW_ANONYMOUS")
    assert "ALLOW_ANONYMOUS_ON_VERCEL" in reply.json()["error"]["message"]
    assert not fake_openai.requests


def test_acknowledged_anonymous_access_on_vercel_stores_no_history(chat, env, tmp_path, fake_openai):
    from lib.stores.sqlite import SqliteStore

    env.setenv("VERCEL", "1")
    env.setenv("ALLOW_ANONYMOUS_ON_VERCEL", "1")
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    reply = call(chat, "POST", CHAT, {"message": "hi"})
    assert reply.status == 200
    assert (reply.json()["saved"], reply.json()["warning"]["code"]) == (False, "history_disabled")
    for method in ("GET", "DELETE"):
        refused = call(chat, method, f"{CHAT}?conversationId={reply.json()['conversationId']}")
        assert (refused.status, refused.error_code) == (503, "history_disabled")
    assert SqliteStore(str(tmp_path / "history.sqlite3")).conversations(access.ANONYMOUS_USER_ID) == []


def test_on_vercel_a_token_holder_still_has_history(chat, env, tmp_path, fake_openai):
    env.setenv("VERCEL", "1")
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("DASHBOARD_TOKENS", f"Alice:{ALICE_TOKEN}")
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    reply = call(chat, "POST", CHAT, {"message": "hi"}, ALICE)
    assert reply.json()["saved"] is True
    assert conversations_of(chat, ALICE) == [reply.json()["conversationId"]]


@pytest.mark.parametrize("value, allowed", [(None, False), ("0", False), ("1", True)])
def test_the_dashboard_is_told_whether_magic_links_may_create_accounts(config_server, env, value, allowed):
    if value is not None:
        env.setenv("AUTH_ALLOW_SIGNUP", value)
    env.setenv("DASHBOARD_TOKENS", f"Alice:{ALICE_TOKEN}")
    auth = call(config_server.port, "GET", "/api/config").json()["auth"]
    assert (auth["allowSignup"], auth["token"]) == (allowed, True)
    assert ALICE_TOKEN not in str(auth)


def test_named_token_ids_are_stable():
    assert access.named_token_user_id("Alice") == access.named_token_user_id("Alice") != \
        access.named_token_user_id("Bob")
    assert str(uuid.UUID(access.named_token_user_id("Alice"))) == access.named_token_user_id("Alice")
