"""Supabase access tokens as a way in: HS256 with the project secret, or ES256/RS256 from the project's JWKS."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lib import settings, tokens
from lib.errors import Unauthorized
from tests.helpers import call
from tests.openai_responses import client_secret

KEY = "/api/realtime/key"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
USER = str(uuid.uuid4())


def claims(**overrides) -> dict:
    return {"sub": USER, "aud": "authenticated", "role": "authenticated", "exp": int(time.time()) + 3600,
            **overrides}


def hs256(secret: str = SECRET, **overrides) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


@pytest.fixture(autouse=True)
def openai_mock(openai_mock, env):
    env.delenv("ALLOW_ANONYMOUS")
    openai_mock.post("/realtime/client_secrets").mock(return_value=client_secret())
    return openai_mock


def status_with(port: int, token: str) -> int:
    return call(port, "POST", KEY, headers={"Authorization": f"Bearer {token}"}).status


def test_a_valid_hs256_token_gets_in_as_its_user(key, env):
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    assert status_with(key, hs256()) == 200
    assert tokens.identity_from(hs256(), settings.access())[0] == USER


@pytest.mark.parametrize("token", [
    hs256(exp=int(time.time()) - 60),
    hs256(secret="another-secret-of-the-same-length-more-or-less-xx"),
    hs256(aud="anon"),
    hs256(sub="not-a-uuid"),
    jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"),
    jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET, algorithm="HS256"),
    jwt.encode(claims(), key=None, algorithm="none"),
    "not.a.jwt",
    "a.b",
], ids=["expired", "forged", "wrong-audience", "sub-not-uuid", "no-exp", "no-sub", "alg-none", "garbage", "two-parts"])
def test_bad_tokens_are_401(key, env, openai_mock, token):
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    reply = call(key, "POST", KEY, headers={"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.error_code) == (401, "unauthorized")
    assert not openai_mock.calls


def test_an_expired_token_says_so(env):
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.identity_from(hs256(exp=int(time.time()) - 60), settings.access())


def test_the_issuer_must_be_the_project_when_its_url_is_known(key, env):
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    env.setenv("SUPABASE_URL", "https://project-ref.supabase.co")
    assert status_with(key, hs256(iss="https://project-ref.supabase.co/auth/v1")) == 200
    assert status_with(key, hs256(iss="https://other-ref.supabase.co/auth/v1")) == 401


def test_the_dashboard_token_still_works_beside_supabase(key, env):
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    env.setenv("DASHBOARD_TOKEN", "shared-secret")
    assert status_with(key, "shared-secret") == 200
    assert status_with(key, "other") == 401


class Jwks(ThreadingHTTPServer):
    """A Supabase project's /auth/v1/.well-known/jwks.json on loopback, counting fetches."""

    daemon_threads = True

    def __init__(self):
        self.keys = {"ec-key": ec.generate_private_key(ec.SECP256R1()), "rsa-key": rsa.generate_private_key(65537, 2048)}
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.fetches += 1
                found = self.path == "/auth/v1/.well-known/jwks.json"
                keys = [{**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(server.keys["ec-key"].public_key())),
                         "kid": "ec-key", "alg": "ES256", "use": "sig"},
                        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(server.keys["rsa-key"].public_key())),
                         "kid": "rsa-key", "alg": "RS256", "use": "sig"}]
                body = json.dumps({"keys": keys}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def token(self, kid: str, algorithm: str, **overrides) -> str:
        return jwt.encode(claims(iss=f"{self.url}/auth/v1", **overrides), self.keys[kid],
                          algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def jwks(env):
    server = Jwks()
    env.setenv("SUPABASE_URL", server.url)
    yield server
    server.shutdown()


@pytest.mark.parametrize("kid, algorithm", [("ec-key", "ES256"), ("rsa-key", "RS256")])
def test_asymmetric_tokens_are_checked_against_the_projects_jwks(key, jwks, kid, algorithm):
    assert status_with(key, jwks.token(kid, algorithm)) == 200


def test_the_jwks_is_fetched_once_and_cached(key, jwks):
    for _ in range(3):
        assert status_with(key, jwks.token("ec-key", "ES256")) == 200
    assert jwks.fetches == 1


def test_a_token_signed_by_another_key_is_401(key, jwks):
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims(iss=f"{jwks.url}/auth/v1"), stranger, algorithm="ES256", headers={"kid": "ec-key"})
    unknown_kid = jwt.encode(claims(iss=f"{jwks.url}/auth/v1"), stranger, algorithm="ES256", headers={"kid": "nope"})
    assert status_with(key, forged) == 401
    assert status_with(key, unknown_kid) == 401


@pytest.mark.parametrize("kid, algorithm, signer", [("ec-key", "RS256", "rsa-key"), ("rsa-key", "ES256", "ec-key")])
@pytest.mark.parametrize("path", [KEY, "/api/groupchat/chat"])
def test_a_header_algorithm_that_does_not_fit_its_key_is_401(key, chat, jwks, kid, algorithm, signer, path):
    mismatched = jwt.encode(claims(iss=f"{jwks.url}/auth/v1"), jwks.keys[signer], algorithm=algorithm,
                            headers={"kid": kid})
    reply = call(key if path == KEY else chat, "POST", path, {"message": "hi"},
                 {"Authorization": f"Bearer {mismatched}"})
    assert (reply.status, reply.error_code) == (401, "unauthorized")


def test_an_expired_asymmetric_token_is_401(key, jwks):
    assert status_with(key, jwks.token("ec-key", "ES256", exp=int(time.time()) - 60)) == 401


def test_hs256_is_refused_when_no_secret_is_configured(key, jwks):
    assert status_with(key, hs256()) == 401


def test_an_unreachable_jwks_is_503_auth_unavailable(key, env):
    env.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k"})
    reply = call(key, "POST", KEY, headers={"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.error_code) == (503, "auth_unavailable")
