"""Usage and cost in euros: counted by the server where turns and limits are recorded (once a turn, never for a
refusal, which is counted apart), reported to admins per person and in total, and checked by hand against the
OpenAI stand-in's usage reports and the price settings."""

import pytest

from lib import audit
from tests.firm import ADMIN, People, hosted, say, sign_in_with_supabase
from tests.helpers import call, freeze_limit_clock

USAGE = "/api/admin/usage"


@pytest.fixture(scope="module")
def usage_port():
    yield from hosted("admin/usage.py")


@pytest.fixture
def people(backend, env, fake_openai):
    sign_in_with_supabase(env)
    env.setenv("USAGE_PRICES_USD", "gpt-5.5:2/8, other-model:1/1")
    env.setenv("USAGE_EUR_PER_USD", "0.9")
    env.setenv("USAGE_VOICE_USD_PER_MINUTE", "0.5")
    return People(backend, alice={"user_metadata": {"full_name": "Alice Martin"}}, bob={}, root=ADMIN)


def report(port, people, query: str = "") -> dict:
    reply = call(port, "GET", USAGE + query, headers=people.headers["root"])
    assert reply.status == 200, reply.text
    return reply.json()


def person(table: dict, user_id: str) -> dict | None:
    return next((p for p in table["people"] if p["userId"] == user_id), None)


def test_each_turn_is_counted_once_with_openais_tokens_and_priced_in_euros(people, chat, usage_port):
    replies = [say(chat, people.headers["alice"], "Quel est le taux du livret A ?"),
               say(chat, people.headers["alice"], "Et le PEL ?", stream=True)]
    reported = [replies[0].json()["usage"], replies[1].events()[-1]["usage"]]
    say(chat, people.headers["bob"], "Bonjour")

    alice = person(report(usage_port, people)["today"], people.ids["alice"])
    prompt = sum(u["prompt_tokens"] for u in reported)
    completion = sum(u["completion_tokens"] for u in reported)
    assert (alice["name"], alice["messages"], alice["input_tokens"], alice["output_tokens"]) == (
        "Alice Martin", 2, prompt, completion)
    assert alice["costEur"] == round((prompt * 2 + completion * 8) / 1_000_000 * 0.9, 4)
    month = report(usage_port, people)["month"]
    assert person(month, people.ids["alice"])["messages"] == 2
    assert person(month, people.ids["bob"])["messages"] == 1


def test_a_refusal_is_counted_apart_and_a_reached_ceiling_is_audited(people, chat, usage_port, backend, env):
    freeze_limit_clock(env, at=2_111_111_130.0)  # a day no other test counts in (Supabase's counters are shared)
    env.setenv("CHAT_DAILY_MESSAGE_LIMIT", "1")
    env.setenv("GLOBAL_DAILY_MESSAGE_LIMIT", "2")
    assert say(chat, people.headers["alice"], "Un").status == 200
    assert say(chat, people.headers["alice"], "Deux").json()["error"]["limit"] == "chat:day"
    assert say(chat, people.headers["bob"], "Trois").status == 200
    assert say(chat, people.headers["bob"], "Quatre").status == 429  # his day and the deployment's, both full
    today = report(usage_port, people)["today"]
    for who in ("alice", "bob"):
        assert (person(today, people.ids[who])["messages"], person(today, people.ids[who])["refusals"]) == (1, 1)
    reached = {who: backend.store().audit_events(None, None, "ceiling_reached", 5, audit.hashed(people.ids[who]))
               for who in ("alice", "bob")}
    assert reached["alice"] == [] and [e["detail"]["limits"] for e in reached["bob"]] == [["global:chat:day"]]
    ceiling = next(c for c in report(usage_port, people)["ceilings"] if c["limit"] == "global:chat:day")
    assert ceiling["max"] == 2 and ceiling["used"] >= 2


def test_the_range_downloads_as_csv_with_a_total(people, chat, usage_port):
    say(chat, people.headers["alice"], "Bonjour")
    download = call(usage_port, "GET", USAGE + "?format=csv", headers=people.headers["root"])
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "name,userId,messages,input_tokens,output_tokens,voice_sessions,voice_seconds,refusals,costEur"
    assert any(line.startswith(f"Alice Martin,{people.ids['alice']},1,") for line in lines)
    assert lines[-1].startswith("Total,,")
    bad = call(usage_port, "GET", USAGE + "?from=2026-13-01", headers=people.headers["root"])
    assert (bad.status, bad.json()["error"]["field"]) == (422, "from")


@pytest.mark.stores("sqlite")
def test_an_unpriced_model_has_no_cost_rather_than_a_wrong_one(people, chat, usage_port, env):
    env.setenv("USAGE_PRICES_USD", "other-model:1/1")
    say(chat, people.headers["alice"], "Bonjour")
    today = report(usage_port, people)["today"]
    assert person(today, people.ids["alice"])["costEur"] is None and today["total"]["costEur"] is None


def test_a_voice_session_is_counted_when_it_starts(people, key, usage_port):
    assert call(key, "POST", "/api/realtime/key", {}, people.headers["alice"]).status == 200
    assert person(report(usage_port, people)["today"], people.ids["alice"])["voice_sessions"] == 1


@pytest.mark.parametrize("who", ["user", "admin by app_metadata", "anon"])
@pytest.mark.parametrize("method, path, body", [
    ("GET", "/rest/v1/usage_daily?select=*", None),
    ("POST", "/rest/v1/usage_daily", {"day": "2026-12-07", "user_id": "00000000-0000-4000-8000-000000000000"}),
    ("POST", "/rest/v1/rpc/add_usage", {"p_day": "2026-12-07", "p_user_id": "00000000-0000-4000-8000-000000000000",
                                        "p_name": "x", "p_model": "x", "p_messages": -100, "p_input_tokens": 0,
                                        "p_output_tokens": 0, "p_reasoning_tokens": 0, "p_voice_sessions": 0,
                                        "p_voice_seconds": 0, "p_refusals": 0}),
])
def test_over_postgrest_the_browser_can_neither_read_nor_write_usage(postgrest, who, method, path, body):
    import uuid
    from urllib.parse import urlsplit

    user = str(uuid.uuid4())
    postgrest.postgres.add_user(user)
    headers = {"user": postgrest.as_user(user), "admin by app_metadata": postgrest.as_user(user, **ADMIN),
               "anon": {"apikey": postgrest.ANON_KEY}}[who]
    reply = call(urlsplit(postgrest.url).port, method, path, body, headers=headers)
    assert reply.status in (401, 403, 404), reply.text
