"""The server's OpenAI key and the dashboard token never appear in a response, a header or a log line."""

import time

import httpx
import pytest

from tests.helpers import CANARY_KEY, call
from tests.openai_responses import client_secret, completion

CHAT = "/api/groupchat/chat"
KEY = "/api/realtime/key"
MINTED = "ek_canary_minted_0c1d2e3f"
TOKEN = "dashboard-token-canary-91ac"


def upstream_echoing_the_key(status: int) -> httpx.Response:
    """An OpenAI error that quotes the key it was sent, as OpenAI's 401 does."""
    return httpx.Response(status, json={"error": {"message": f"Incorrect API key provided: {CANARY_KEY}",
                                                  "type": "invalid_request_error", "code": "invalid_api_key"}})


SCENARIOS = [
    completion(),
    upstream_echoing_the_key(401),
    upstream_echoing_the_key(403),
    upstream_echoing_the_key(400),
    upstream_echoing_the_key(429),
    upstream_echoing_the_key(500),
    httpx.ReadTimeout(f"timed out talking with {CANARY_KEY}"),
    httpx.ConnectError(f"refused {CANARY_KEY}"),
    RuntimeError(f"bug holding {CANARY_KEY}"),
]


@pytest.mark.parametrize("outcome", SCENARIOS, ids=lambda outcome: getattr(outcome, "status_code", type(outcome).__name__))
@pytest.mark.parametrize("stream", [False, True])
def test_no_response_or_log_line_carries_a_secret(chat, env, capfd, log_records, openai_mock, outcome, stream):
    env.setenv("DASHBOARD_TOKEN", TOKEN)
    route = openai_mock.post("/chat/completions").mock(side_effect=[outcome, outcome])
    replies = [
        call(chat, "POST", CHAT, {"message": "hi", "stream": stream}, {"Authorization": f"Bearer {TOKEN}"}),
        call(chat, "POST", CHAT, {"message": "hi"}, {"Authorization": f"Bearer {CANARY_KEY}"}),
    ]
    assert route.called
    logs = logs_of_requests(capfd, log_records, 2)
    for reply in replies:
        everything = reply.text + repr(reply.headers)
        assert CANARY_KEY not in everything and TOKEN not in everything
        assert "Traceback" not in everything
    assert replies[0].status != 500 or replies[0].error_code == "internal_error"
    for secret in (CANARY_KEY, TOKEN):
        assert secret not in logs


@pytest.mark.parametrize("outcome", [client_secret(MINTED), *SCENARIOS[1:]],
                         ids=lambda outcome: getattr(outcome, "status_code", type(outcome).__name__))
def test_the_key_endpoint_logs_neither_the_server_key_nor_the_minted_one(key, env, capfd, log_records, openai_mock,
                                                                        outcome):
    env.setenv("DASHBOARD_TOKEN", TOKEN)
    route = openai_mock.post("/realtime/client_secrets").mock(side_effect=[outcome, outcome])
    reply = call(key, "POST", KEY, headers={"Authorization": f"Bearer {TOKEN}"})
    refused = call(key, "POST", KEY, headers={"Authorization": f"Bearer {CANARY_KEY}"})
    assert route.called
    logs = logs_of_requests(capfd, log_records, 2, KEY)
    for answer in (reply, refused):
        assert CANARY_KEY not in answer.text + repr(answer.headers) and "Traceback" not in answer.text
    assert (MINTED in reply.text) == (reply.status == 200)  # the minted key goes to the caller only
    for secret in (CANARY_KEY, TOKEN, MINTED):
        assert secret not in logs


def logs_of_requests(capfd, records, count: int, route: str = CHAT) -> str:
    """Everything logged and printed by `count` answered requests (each request's line is written before its
    answer's last byte, so it is there once the call returns)."""
    lines = [record.getMessage() for record in records if record.fields.get("route") == route]
    assert len(lines) == count
    captured = capfd.readouterr()
    return "\n".join(lines) + captured.out + captured.err


def test_a_full_run_logs_one_clean_line_per_request(chat, key, env, fake_openai, capfd, log_records, tmp_path):
    """Every route and outcome with canary secrets: the log has the promised fields and none of the secrets."""
    import jwt as pyjwt

    secret = "jwt-secret-canary-5e6f7a8b9c0d1e2f3a4b5c6d"
    env.setenv("DASHBOARD_TOKEN", TOKEN)
    env.setenv("SUPABASE_JWT_SECRET", secret)
    env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
    access_token = pyjwt.encode({"sub": "3f0c4a8e-8a59-4e55-9a57-1f1f1f1f1f1f", "aud": "authenticated",
                                 "exp": int(time.time()) + 600}, secret, algorithm="HS256")
    content = "message-content-canary-6c1d"
    user = {"Authorization": f"Bearer {access_token}"}
    replies = [
        call(chat, "POST", CHAT, {"message": content}, user),
        call(chat, "POST", CHAT, {"message": content, "stream": True}, {"Authorization": f"Bearer {TOKEN}"}),
        call(chat, "GET", CHAT, headers=user),
        call(chat, "POST", CHAT, {"message": content, "conversationId": "not-a-uuid"}, user),
        call(chat, "POST", CHAT, {"message": content}, {"Authorization": f"Bearer {CANARY_KEY}"}),
        call(key, "POST", KEY, headers=user),
    ]
    assert [reply.status for reply in replies] == [200, 200, 200, 422, 401, 200]
    logs = logs_of_requests(capfd, log_records, 5) + "".join(
        str(record.__dict__) for record in log_records)  # the realtime key route's line is in log_records too
    minted = replies[-1].json()["value"]
    for secret_value in (CANARY_KEY, TOKEN, secret, access_token, content, minted):
        assert secret_value not in logs
    lines = [record.fields for record in log_records if "route" in record.fields]
    assert len(lines) == len(replies)
    for line in lines:
        assert {"requestId", "route", "method", "status", "ms"} <= set(line)
    answered = [line for line in lines if line["route"] == CHAT and line["method"] == "POST" and line["status"] == 200]
    assert len(answered) == 2
    for line in answered:
        assert line["upstreamRequestId"] == "req_fake" and len(line["userHash"]) == 16
