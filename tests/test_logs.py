"""Production logs as Vercel's runtime writes them: one levelled JSON line per request (plus errors), nothing else.

The functions run in a subprocess set up like vercel-runtime's vc_init (tests/vercel_host.py): logging turned on
at INFO for every library, stdout and stderr wrapped, the handler served through vc_init's BaseHandler (which
prints an access line per response).
"""

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

import jwt
import pytest

from lib import log
from tests.helpers import ROOT, call

CHAT = "/api/groupchat/chat"
KEY = "/api/realtime/key"
SECRET = "jwt-secret-for-the-log-tests-0123456789abcd"
PLATFORM = {"x-vercel-internal-invocation-id": "inv-1", "x-vercel-internal-request-id": "7",
            "x-vercel-internal-span-id": "s", "x-vercel-internal-trace-id": "t"}


@contextmanager
def hosted_like_vercel(relative: str, plain: bool = False):
    """The function in a vc_init-like host; after the block, `messages` holds what reached the platform (every
    line is written before the answer that caused it has ended, so stopping the host loses nothing)."""
    command = [sys.executable, str(ROOT / "tests" / "vercel_host.py"), relative, *(["--plain"] if plain else [])]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "VERCEL": "1", "ALLOW_ANONYMOUS_ON_VERCEL": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    host = SimpleNamespace(port=json.loads(process.stdout.readline())["httpPort"], messages=[], stderr="")
    try:
        yield host
    finally:
        process.terminate()
        out, host.stderr = process.communicate(timeout=30)
        host.messages = [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def supabase_project(env, fake_openai, postgres, postgrest):
    """History in the Supabase schema, callers signed in with Supabase: the path whose library logs carry ids."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_URL", postgrest.url)
    env.setenv("SUPABASE_SERVICE_ROLE_KEY", postgrest.SERVICE_KEY)
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    postgrest.faults.clear()
    user_id = str(uuid.uuid4())
    postgres.add_user(user_id)  # history rows belong to a user in auth.users
    claims = {"sub": user_id, "aud": "authenticated", "exp": int(time.time()) + 600, "iss": f"{postgrest.url}/auth/v1"}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    return SimpleNamespace(user_id=user_id, token=token, postgrest=postgrest,
                           headers={**PLATFORM, "Authorization": f"Bearer {token}", "x-vercel-id": "cdg1::abc-1"})


def a_full_session(port: int, project) -> list:
    """Every kind of chat request, one history failure among them; the replies."""
    headers = project.headers
    first = call(port, "POST", CHAT, {"message": "contenu-secret-1"}, headers)
    conversation = first.json()["conversationId"]
    project.conversation_id = conversation
    replies = [
        first,
        call(port, "POST", CHAT, {"message": "contenu-secret-2", "stream": True, "conversationId": conversation},
             headers),
        call(port, "GET", CHAT, headers=headers),
        call(port, "GET", f"{CHAT}?conversationId={conversation}", headers=headers),
        call(port, "POST", CHAT, {"message": "x", "conversationId": "not-a-uuid"}, headers),
        call(port, "POST", CHAT, {"message": "x"}, {**PLATFORM, "Authorization": "Bearer wrong"}),
    ]
    project.postgrest.fail_next(503)  # the next turn cannot learn whose conversation it is: refused, an error line
    replies.append(call(port, "POST", CHAT, {"message": "contenu-secret-3", "conversationId": conversation}, headers))
    replies.append(call(port, "DELETE", f"{CHAT}?conversationId={conversation}", headers=headers))
    return replies


def test_under_vercels_runtime_the_platform_gets_only_our_levelled_json_lines(supabase_project):
    with hosted_like_vercel("api/groupchat/chat.py") as host:
        replies = a_full_session(host.port, supabase_project)
    with hosted_like_vercel("api/realtime/key.py") as key_host:
        replies.append(call(key_host.port, "POST", KEY, headers=supabase_project.headers))
    assert [reply.status for reply in replies] == [200, 200, 200, 200, 422, 401, 503, 200, 200]

    logs = [m for m in host.messages + key_host.messages if m["type"] == "log"]
    assert [m for m in logs if "stream" in m] == []  # no access line on stdout, no unlevelled text on stderr
    assert {m["logger"] for m in logs} == {"api"}  # no httpx, httpcore, openai, postgrest... line
    lines = [(m["level"], json.loads(m["message"])) for m in logs]
    requests = [(level, line) for level, line in lines if "route" in line]
    assert [(level, line["method"], line["status"]) for level, line in requests] == [
        ("info", method, status) for method, status in
        [("POST", 200), ("POST", 200), ("GET", 200), ("GET", 200), ("POST", 422), ("POST", 401), ("POST", 503),
         ("DELETE", 200), ("POST", 200)]]
    assert [(level, line["event"]) for level, line in lines if "route" not in line] == [
        ("error", "history_read_failed")]
    assert all(line["requestId"] == "cdg1::abc-1" for _, line in requests[:4])  # Vercel's own id, on Vercel
    everything = json.dumps(logs)
    for secret in (supabase_project.user_id, supabase_project.conversation_id, supabase_project.token,
                   "contenu-secret", supabase_project.postgrest.SERVICE_KEY):
        assert secret not in everything
    assert "Traceback" not in host.stderr + key_host.stderr


def test_with_no_host_logging_each_request_is_one_json_line_on_stderr(env, fake_openai):
    with hosted_like_vercel("api/groupchat/chat.py", plain=True) as host:
        statuses = [call(host.port, "POST", CHAT, {"message": "salut"}, PLATFORM).status,
                    call(host.port, "POST", CHAT, {"message": "salut", "stream": True}, PLATFORM).status,
                    call(host.port, "POST", CHAT, raw=b"{oops", headers=PLATFORM).status]
    assert statuses == [200, 200, 400]
    lines = [json.loads(line) for line in host.stderr.splitlines()]
    assert [(line["level"], line["status"]) for line in lines] == [("info", 200), ("info", 200), ("info", 400)]


def test_library_loggers_that_print_urls_are_quiet_at_info():
    import logging

    for name in ("httpx", "httpcore", "openai", "hpack", "postgrest"):
        assert name in log.QUIET_LIBRARIES
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
