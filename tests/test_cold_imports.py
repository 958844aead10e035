"""Heavy imports are paid only where needed: a fresh process serving one request imports nothing it does not use."""

import json
import subprocess
import sys
import uuid

import pytest

from tests.helpers import ROOT

SERVE_ONE = """
import json, sys
sys.path.insert(0, {root!r})
from dev.fake_openai import FakeOpenAI
from tests.helpers import LoopbackServer, call, load_handler
import os
fake = FakeOpenAI().start()
{prelude}
os.environ.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake.base_url, ALLOW_ANONYMOUS="1", **{env!r})
before = set(sys.modules)
server = LoopbackServer(load_handler({handler!r}))
reply = call(server.port, {method!r}, {path!r}, {body!r}, {headers!r}, raw={raw!r})
print(json.dumps({{"status": reply.status, "modules": sorted(set(sys.modules) - before)}}))
"""


def serve_one(handler: str, path: str, body: dict | None, env: dict | None = None, headers: dict | None = None,
              method: str = "POST", raw: bytes | None = None, prelude: str = "") -> dict:
    script = SERVE_ONE.format(root=str(ROOT), handler=handler, path=path, body=body, env=env or {},
                              headers=headers or {}, method=method, raw=raw, prelude=prelude)
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            cwd=ROOT, timeout=600)  # a hang guard: a cold start on a busy CPU can take a minute
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_key_endpoint_never_imports_supabase_or_jwt():
    served = serve_one("realtime/key.py", "/api/realtime/key", {})
    assert served["status"] == 200
    assert not top_level(served["modules"]) & {"supabase", "postgrest", "jwt", "sqlite3", "cryptography"}


def test_a_storeless_chat_never_imports_supabase():
    served = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi"})
    assert served["status"] == 200
    assert not top_level(served["modules"]) & {"supabase", "postgrest", "jwt", "sqlite3"}


@pytest.mark.parametrize("env, expected", [({"HISTORY_DB": "/tmp/cold-imports-history.sqlite3"}, "sqlite3")])
def test_the_store_is_imported_when_configured(env, expected):
    served = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi"}, env)
    assert served["status"] == 200
    assert expected in top_level(served["modules"])
    assert "supabase" not in top_level(served["modules"])


def test_a_supabase_backed_chat_imports_neither_the_supabase_package_nor_postgrest_py(postgres, postgrest):
    """History in Supabase: a signed-in user's first turn is stored through our small PostgREST client."""
    from tests.standins.postgrest import JWT_SECRET, user_token

    postgrest.faults.clear()
    user_id = str(uuid.uuid4())
    postgres.add_user(user_id)  # Supabase history rows belong to users in auth.users
    token = user_token(user_id, iss=f"{postgrest.url}/auth/v1")
    env = {"SUPABASE_URL": postgrest.url, "SUPABASE_SERVICE_ROLE_KEY": postgrest.SERVICE_KEY,
           "SUPABASE_JWT_SECRET": JWT_SECRET}
    before = len(postgrest.requests)
    served = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi"}, env,
                       {"Authorization": f"Bearer {token}"})
    assert served["status"] == 200
    assert len(postgrest.requests) > before  # it did talk to PostgREST
    assert "lib.stores.rest" in served["modules"]
    assert not top_level(served["modules"]) & {"supabase", "postgrest", "pydantic", "supabase_auth", "storage3",
                                                "realtime", "supabase_functions", "websockets", "openai"}


def test_a_streamed_chat_never_imports_the_openai_sdk_or_httpx():
    served = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi", "stream": True})
    assert served["status"] == 200
    assert not top_level(served["modules"]) & {"openai", "httpx"}
    assert "lib.http_pool" in served["modules"]  # it did talk to OpenAI, over stdlib http.client


OFFER = (b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
         b"c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n")
CANNED_ANSWER = """
class Canned:  # the stand-in's SDP answer without aiortc, whose imports are not the function's
    def answer(self, offer):
        return "v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
fake._realtime = Canned()
"""
SDK = {"openai", "httpx", "httpx2", "pydantic", "anyio"}  # the OpenAI SDK and what it brings: ~0.4 s of a cold start


@pytest.mark.parametrize("handler, path, body, extra", [
    ("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi"}, {}),  # the whole (non-streamed) reply
    ("groupchat/chat.py", "/api/groupchat/chat", {"message": "hi"}, {"MODERATION": "on"}),
    ("realtime/key.py", "/api/realtime/key", {}, {}),
], ids=["whole-reply", "moderated-reply", "key"])
def test_no_route_to_openai_imports_the_sdk_or_httpx(handler, path, body, extra):
    served = serve_one(handler, path, body, extra)
    assert served["status"] == 200
    assert not top_level(served["modules"]) & SDK
    assert "lib.http_pool" in served["modules"]  # it did talk to OpenAI, over stdlib http.client


def test_the_call_relay_imports_neither_the_sdk_nor_httpx():
    served = serve_one("realtime/call.py", "/api/realtime/call", None, headers={"Content-Type": "application/sdp"},
                       raw=OFFER, prelude=CANNED_ANSWER)
    assert served["status"] == 201
    assert not top_level(served["modules"]) & SDK
    assert "lib.http_pool" in served["modules"]


@pytest.mark.parametrize("handler, method, path, body", [
    ("realtime/transcript.py", "POST", "/api/realtime/transcript", {"callId": "rtc_1", "items": []}),
    ("groupchat/members.py", "POST", "/api/groupchat/members", {"title": "Budget"}),
    ("config.py", "GET", "/api/config", None),
], ids=["transcript", "rooms", "config"])
def test_routes_that_never_call_openai_import_neither_the_sdk_nor_httpx(handler, method, path, body):
    served = serve_one(handler, path, body, {"HISTORY_DB": "/tmp/cold-imports-history.sqlite3"}, method=method)
    assert served["status"] < 500
    assert not top_level(served["modules"]) & (SDK | {"supabase", "postgrest"})


def test_python_stdnum_is_imported_only_for_a_message_with_a_candidate_number():
    plain = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "Quel est le taux du livret A ?"})
    assert plain["status"] == 200 and "stdnum" not in top_level(plain["modules"])
    iban = serve_one("groupchat/chat.py", "/api/groupchat/chat", {"message": "IBAN FR7630006000011234567890189"})
    assert iban["status"] == 200 and "stdnum" in top_level(iban["modules"])
