"""The local dev server: public/ as static files, /api/... served by the functions' own handler classes."""

import json
import os
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

from dev.server import DevServer, Functions, build_parser, load_dotenv, options
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
        assert "local-only-camille-0001" in process.stdout.readline()  # two local people, to try a room
        reply = call(port, "POST", "/api/groupchat/chat", {"message": "salut"})
        assert (reply.status, reply.json()["message"]) == (200, "Echo: salut")
        signed_in = call(port, "GET", "/api/groupchat/chat", headers={"Authorization": "Bearer local-only-camille-0001"})
        assert signed_in.status == 200
    finally:
        process.terminate()
        process.wait(5)


def raw_exchange(port: int, request: bytes, close_write: bool = True) -> bytes:
    """Send raw bytes (then say no more is coming, unless close_write is False); read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: sock.recv(65536), b""))


@pytest.mark.parametrize("path", ["/", "/api/groupchat/chat", "/api/config"])
@pytest.mark.parametrize("host", ["attacker.example:3000", "attacker.example", "localhost.attacker.example",
                                  "127.0.0.1.nip.example"])
def test_a_host_name_that_is_not_this_machines_is_refused(dev, fake_openai, path, host):
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 sends its own Host (and a matching Origin)."""
    origin = f"http://{host}"
    reply = call(dev, "POST" if path.endswith("chat") else "GET", path, {"message": "dépense la clé"},
                 {"Host": host, "Origin": origin})
    assert (reply.status, reply.error_code) == (403, "host_not_allowed")
    assert "DEV_ALLOWED_HOSTS" in reply.json()["error"]["message"]
    assert fake_openai.requests == []


@pytest.mark.parametrize("host", ["localhost", "localhost:3000", "app.localhost:3000", "127.0.0.1:3000",
                                  "[::1]:3000", "192.168.1.20:3000", "LOCALHOST."])
def test_loopback_names_and_addresses_are_served(dev, host):
    assert call(dev, "GET", "/", headers={"Host": host}).status == 200


def test_configured_host_names_are_served(env, fake_openai):
    env.setenv("DEV_ALLOWED_HOSTS", "dashboard.test, .team.test")
    with running(DevServer(("127.0.0.1", 0))) as port:
        for host in ("dashboard.test:3000", "team.test", "alice.team.test"):
            assert call(port, "GET", "/", headers={"Host": host}).status == 200, host
        assert call(port, "GET", "/", headers={"Host": "dashboard.test.evil"}).status == 403


@pytest.mark.parametrize("request_line", [b"GET /%00 HTTP/1.1", b"GET /api/groupchat/chat%00 HTTP/1.1",
                                          b"GET /index.html%00.js HTTP/1.1", b"GET /a\x00b HTTP/1.1",
                                          b"GET /api/" + b"a" * 5000 + b" HTTP/1.1"])
def test_a_nul_byte_or_an_impossible_path_gets_a_json_answer_and_no_traceback(dev, capfd, request_line):
    answer = raw_exchange(dev, request_line + b"\r\nHost: localhost\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] in (b"400", b"404")
    assert json.loads(body)["error"]["code"] in ("bad_http_request", "not_found")
    assert "Traceback" not in capfd.readouterr().err


def test_a_nul_byte_in_a_query_value_is_the_functions_business(dev):
    reply = call(dev, "GET", "/api/groupchat/chat?conversationId=%00")
    assert (reply.status, reply.error_code) == (422, "validation_error")


def test_a_half_sent_request_is_dropped_after_the_read_timeout(env, fake_openai, capfd):
    """Slowloris: the connection is closed once it goes quiet, and the server keeps answering others."""
    with running(DevServer(("127.0.0.1", 0), read_timeout=0.2)) as port:
        for partial in (b"", b"GET / HTTP/1.1\r\nHost: loc", b"POST /api/groupchat/chat HTTP/1.1\r\nHost: localhost"
                        b"\r\nContent-Length: 50\r\n\r\n{\"message\""):
            answer = raw_exchange(port, partial, close_write=False)
            assert answer == b"" or answer.startswith(b"HTTP/1.0 408"), answer[:80]
        assert call(port, "GET", "/").status == 200
    assert "Traceback" not in capfd.readouterr().err


@contextmanager
def running(server):
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_in_use_is_one_sentence_and_exit_code_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "dev.server", "--port", str(port)], cwd=ROOT,
                                env={**os.environ, "HISTORY_DB": str(tmp_path / "h.sqlite3")},
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Cannot start the dev server: port {port} on 127.0.0.1 is already in use (another dev server?); "
        "stop it or pick another with --port."]


def test_port_comes_from_dotenv_unless_given(tmp_path, env):
    env.setenv("PORT", "placeholder")
    env.delenv("PORT")  # restored to unset after the test, whatever .env adds
    (tmp_path / ".env").write_text("PORT=4321\n")
    assert options([], tmp_path / ".env").port == 4321
    assert options(["--port", "5000"], tmp_path / ".env").port == 5000


def test_a_port_that_is_not_a_number_is_a_usage_error(tmp_path, env, capsys):
    env.setenv("PORT", "http")
    with pytest.raises(SystemExit) as exit_:
        options([], tmp_path / ".env")
    assert exit_.value.code == 2 and "PORT must be a port number" in capsys.readouterr().err


def test_every_option_is_explained_by_help():
    parser = build_parser()
    assert all(action.help for action in parser._actions)
    text = parser.format_help()
    for words in ("--host", "--port", "PORT", ".env", "DEV_ALLOWED_HOSTS", "OPENAI_API_KEY"):
        assert words in text
