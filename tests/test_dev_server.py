"""The local dev server: public/ as static files, /api/... served by the functions' own handler classes."""

import os
import subprocess
import sys

import pytest

from dev.server import Functions, load_dotenv
from tests.helpers import ROOT, call


@pytest.fixture
def dev(dev_server):
    return dev_server


def test_the_dashboard_is_served_at_the_root(dev):
    reply = call(dev, "GET", "/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.text == (ROOT / "public" / "index.html").read_text()


def test_api_routes_reach_the_function_handler(dev):
    reply = call(dev, "POST", "/api/groupchat/chat", {"message": "bonjour"})
    assert reply.status == 200
    assert reply.json()["message"] == "Echo: bonjour"


def test_streaming_works_through_the_dev_server(dev):
    events = call(dev, "POST", "/api/groupchat/chat", {"message": "bonjour", "stream": True}).events()
    assert events[-1]["type"] == "done"


def test_unknown_api_routes_are_json_404(dev):
    for path in ("/api/nope", "/api/../lib/settings", "/api/groupchat/chat.py"):
        reply = call(dev, "GET", path)
        assert reply.status == 404, path


def test_source_files_outside_public_are_not_served(dev):
    for path in ("/lib/settings.py", "/../lib/settings.py", "/.env", "/%2e%2e/lib/settings.py"):
        assert call(dev, "GET", path).status == 404, path


def test_functions_resolve_like_vercel_file_routes():
    functions = Functions()
    assert functions.lookup("/api/groupchat/chat?x=1").__name__ == "handler"
    assert functions.lookup("/api/groupchat") is None
    assert functions.lookup("/public/index.html") is None


def test_dotenv_fills_only_unset_settings(tmp_path, env):
    env.setenv("CHAT_MODEL", "from-environment")
    (tmp_path / ".env").write_text('# comment\nCHAT_MODEL=from-file\nexport CHAT_SYSTEM_PROMPT="Sois bref."\n\n')
    load_dotenv(tmp_path / ".env")
    assert os.environ["CHAT_MODEL"] == "from-environment"
    assert os.environ["CHAT_SYSTEM_PROMPT"] == "Sois bref."


def test_the_dev_server_starts_offline_with_no_openai_key(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "ALLOW_"))}
    environment["HISTORY_DB"] = str(tmp_path / "history.sqlite3")  # not the repo's data/
    process = subprocess.Popen([sys.executable, "-m", "dev.server", "--port", "0"], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
        assert "offline stand-in" in process.stdout.readline()
        reply = call(port, "POST", "/api/groupchat/chat", {"message": "salut"})
        assert (reply.status, reply.json()["message"]) == (200, "Echo: salut")
    finally:
        process.terminate()
        process.wait(5)
