"""Security headers on everything served, from vercel.json, applied by the dev server the same way."""

import json

import pytest

from tests.helpers import ROOT, call

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def policy_of(header: str) -> dict[str, list[str]]:
    directives = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        directives[name] = values
    return directives


def test_vercel_json_sets_the_headers_on_every_path():
    config = json.loads((ROOT / "vercel.json").read_text())
    rule = next(rule for rule in config["headers"] if rule["source"] == "/(.*)")
    names = {item["key"] for item in rule["headers"]}
    assert {"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"} <= names


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/index.html"), ("POST", "/api/groupchat/chat"),
                                          ("POST", "/api/realtime/key"), ("GET", "/api/nope")])
def test_every_response_carries_them(dev_server, method, path):
    reply = call(dev_server, method, path, {"message": "hi"} if method == "POST" else None)
    for name, value in EXPECTED.items():
        assert reply.headers[name] == value, (path, name)
    csp = policy_of(reply.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert not [source for source in csp["connect-src"] if "openai" in source]  # voice goes through our relay
    assert reply.headers["permissions-policy"].startswith("microphone=(self)")
    assert "camera=()" in reply.headers["permissions-policy"]


def test_no_header_is_sent_twice(dev_server):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", dev_server)
    connection.request("POST", "/api/groupchat/chat", body=b"{}", headers={"Content-Type": "application/json"})
    names = [name.lower() for name, _ in connection.getresponse().getheaders()]
    assert len(names) == len(set(names))


def test_the_dev_server_lets_the_page_reach_configured_endpoints(env):
    from dev.server import vercel_headers

    env.setenv("SUPABASE_URL", "http://127.0.0.1:4321")
    csp = policy_of(vercel_headers()["Content-Security-Policy"])
    assert "http://127.0.0.1:4321" in csp["connect-src"]
