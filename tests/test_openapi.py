"""public/openapi.json describes the API truly: valid OpenAPI 3.1, every route and method, every error code."""

import json
import re

import pytest
from openapi_spec_validator import validate

from lib import errors
from tests.helpers import ROOT, call, load_handler

SPEC = json.loads((ROOT / "public" / "openapi.json").read_text())
ROUTES = {"/api/groupchat/chat": "groupchat/chat.py", "/api/realtime/key": "realtime/key.py", "/api/config": "config.py",
          "/api/groupchat/members": "groupchat/members.py", "/api/realtime/call": "realtime/call.py",
          "/api/realtime/transcript": "realtime/transcript.py", "/api/admin/audit": "admin/audit.py",
          "/api/admin/usage": "admin/usage.py", "/api/me/data": "me/data.py", "/api/cron/retention": "cron/retention.py",
          "/api/groupchat/feedback": "groupchat/feedback.py", "/api/admin/feedback": "admin/feedback.py"}


def test_it_is_valid_openapi_3_1():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_every_function_is_described_with_exactly_its_methods():
    assert set(SPEC["paths"]) == set(ROUTES)
    assert {str(path.relative_to(ROOT / "api")) for path in (ROOT / "api").rglob("*.py")} == set(ROUTES.values())
    for path, file in ROUTES.items():
        assert set(SPEC["paths"][path]) == {method.lower() for method in load_handler(file).routes}, path


def codes_the_code_can_answer() -> set[str]:
    classes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ApiError)}
    made_on_the_spot = set()
    for source in (ROOT / "lib").glob("*.py"):
        made_on_the_spot |= set(re.findall(r'NotConfigured\(\s*"(\w+)"', source.read_text()))
        made_on_the_spot |= set(re.findall(r'code = (?:code, )?"(\w+)"', source.read_text()))
    return classes | made_on_the_spot


def test_every_error_code_is_listed_and_none_is_invented():
    documented = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert documented == codes_the_code_can_answer()


def test_the_readme_lists_every_error_code():
    readme = (ROOT / "README.md").read_text()
    missing = [code for code in codes_the_code_can_answer() if f"`{code}`" not in readme]
    assert not missing


@pytest.mark.parametrize("setting", ["CHAT_MAX_MESSAGE_CHARS"])
def test_documented_limits_match_the_defaults(setting):
    from lib import settings

    request = SPEC["components"]["schemas"]["ChatRequest"]["properties"]
    assert request["message"]["maxLength"] == settings.chat({}).max_message_chars
    assert request["systemPrompt"]["maxLength"] == settings.SYSTEM_PROMPT_MAX_CHARS


def test_the_dev_server_serves_it(dev_server):
    reply = call(dev_server, "GET", "/openapi.json")
    assert reply.status == 200 and reply.json() == SPEC
