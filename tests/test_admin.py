"""Admins are admins by the server's settings only (ADMIN_TOKEN_NAMES, Supabase app_metadata); everyone else gets,
from every admin route, the very 404 of a route that does not exist."""

import pytest

from tests.firm import ADMIN, People, SECRET
from tests.helpers import call

ADMIN_ROUTES = ["/api/admin/audit", "/api/admin/audit?format=csv", "/api/admin/usage", "/api/admin/feedback",
                "/api/admin/usage?format=csv"]
TOKENS = "Claire:claire-token-0123456789,Paul:paul-token-0123456789"


@pytest.fixture
def site(dev_server, backend, env):
    """The dev server (every function, and its JSON 404 for unknown routes), Supabase sign-in and named tokens."""
    env.delenv("ALLOW_ANONYMOUS")
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    env.setenv("DASHBOARD_TOKENS", TOKENS)
    env.setenv("ADMIN_TOKEN_NAMES", "Claire")
    return type("Site", (), {"port": dev_server, "people": People(
        backend, plain={}, admin=ADMIN, self_made={"user_metadata": {"dashboard_admin": True}},
        wrong_place={"dashboard_admin": True, "app_metadata": {"dashboard_admin": "true"}})})


def outsiders(site) -> dict[str, dict]:
    people = site.people.headers
    return {"no credential": {}, "a wrong token": {"Authorization": "Bearer wrong-token-0123456789"},
            "a signed-in user": people["plain"], "user_metadata says admin": people["self_made"],
            "a claim beside app_metadata": people["wrong_place"],
            "a named token not listed": {"Authorization": "Bearer paul-token-0123456789"}}


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_everyone_but_an_admin_gets_the_404_of_a_route_that_does_not_exist(site, route):
    nothing = call(site.port, "GET", "/api/no-such-route")
    assert nothing.status == 404
    for who, headers in outsiders(site).items():
        reply = call(site.port, "GET", route, headers=headers)
        assert (reply.status, reply.json()) == (404, nothing.json()), who


@pytest.mark.stores("sqlite", "supabase")
@pytest.mark.parametrize("headers", ["app_metadata admin", "listed named token"])
def test_admins_by_app_metadata_or_by_named_token_get_in(site, headers):
    chosen = site.people.headers["admin"] if headers == "app_metadata admin" else {
        "Authorization": "Bearer claire-token-0123456789"}
    for route in ADMIN_ROUTES:
        assert call(site.port, "GET", route, headers=chosen).status == 200, route


def test_an_admin_name_that_is_no_token_is_refused():
    from lib import settings
    from lib.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        settings.access({"DASHBOARD_TOKENS": TOKENS, "ADMIN_TOKEN_NAMES": "Claire,Mallory"})
    assert refused.value.extra["setting"] == "ADMIN_TOKEN_NAMES"
