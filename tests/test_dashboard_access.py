"""Signing in to the dashboard: a dashboard token with a proper signed-in state, or Supabase (password, magic link)."""

import re

import pytest

from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, page, reply_done, send, site, site_with, text, view,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

TOKEN = "jeton-du-tableau"


def test_token_sign_in_has_a_signed_in_state_and_sign_out(view, site_with):
    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN=TOKEN)
    open_dashboard(view, site)
    expect(view.locator("#auth-area")).to_have_attribute("data-state", "signed-out")
    expect(view.locator("#chat-error")).to_be_hidden()  # nothing refused before a try
    view.get_by_role("button", name=text(view, "auth.signIn")).click()
    field = view.get_by_label(text(view, "auth.token"))
    expect(field).to_be_focused()
    expect(view.locator("#auth-token-message")).to_have_text("")
    screenshot(view, f"sign-in-token-{view.name}")
    field.fill("mauvais")
    view.locator("#token-dialog").get_by_role("button", name=text(view, "auth.tokenSave")).click()
    expect(view.locator("#auth-token-message")).to_have_text(text(view, "auth.tokenWrong"))
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill(TOKEN)
    view.locator("#token-dialog").get_by_role("button", name=text(view, "auth.tokenSave")).click()
    expect(view.locator("#auth-area")).to_have_attribute("data-state", "signed-in")
    expect(view.locator("#auth-area .signed-in")).to_have_text(text(view, "auth.signedIn"))
    send(view, "avec jeton")
    reply_done(view, "Echo: avec jeton")
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    expect(view.locator("#auth-area")).to_have_attribute("data-state", "signed-in")  # kept on this device
    screenshot(view, f"signed-in-token-{view.name}")
    view.get_by_role("button", name=text(view, "auth.signOut")).click()
    expect(view.locator("#auth-area")).to_have_attribute("data-state", "signed-out")
    view.get_by_role("button", name=text(view, "auth.signIn")).click()
    expect(view.locator("#auth-token-message")).to_have_text("")
    assert view.evaluate("localStorage.getItem('dashboard.token')") is None


def test_a_message_before_signing_in_says_to_sign_in(page, site_with):
    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN=TOKEN)
    open_dashboard(page, site)
    send(page, "sans jeton")
    expect(page.locator("#chat-error")).to_have_text("Accès refusé : connectez-vous pour continuer.")
    expect(page.locator("#chat-input")).to_have_value("sans jeton")


def test_a_stored_token_that_stopped_working_signs_out_quietly(page, site_with):
    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN=TOKEN)
    page.add_init_script("localStorage.setItem('dashboard.token', 'ancien-jeton')")
    open_dashboard(page, site)
    expect(page.locator("#auth-area")).to_have_attribute("data-state", "signed-out")
    expect(page.locator("#auth-token-message")).to_have_text("")


@pytest.fixture
def gotrue(site_with):
    """A GoTrue stand-in, and the site set up for Supabase sign-in against it (no anonymous access)."""
    from tests.standins.gotrue import GotrueStandIn

    secret = "gotrue-jwt-secret-for-the-browser-test-0123"
    server = GotrueStandIn(secret)
    server.site = site_with(ALLOW_ANONYMOUS="0", SUPABASE_URL=server.url, SUPABASE_ANON_KEY="anon-key",
                            SUPABASE_JWT_SECRET=secret)
    yield server
    server.shutdown()


def open_sign_in(page, gotrue):
    open_dashboard(page, gotrue.site)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Adresse e-mail").fill(gotrue.email)


def test_supabase_sign_in_with_a_password(page, gotrue):
    open_sign_in(page, gotrue)
    page.get_by_label("Mot de passe").fill("wrong")
    page.get_by_role("button", name="Connexion", exact=True).click()
    expect(page.locator("#auth-message")).to_have_text(
        "Connexion refusée : adresse e-mail ou mot de passe incorrect.")  # the page's words, not GoTrue's
    screenshot(page, "sign-in-supabase-refused-desktop-fr")
    page.get_by_label("Mot de passe").fill(gotrue.password)
    page.get_by_role("button", name="Connexion", exact=True).click()
    expect(page.locator("#auth-area")).to_contain_text(f"Connecté : {gotrue.email}")
    send(page, "Je suis connecté")
    reply_done(page, "Echo: Je suis connecté")
    assert page.evaluate("[...document.scripts].every(s => !s.src || s.src.startsWith(location.origin))")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()


def test_supabase_sign_in_with_a_magic_link(page, gotrue):
    open_sign_in(page, gotrue)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    expect(page.locator("#auth-message")).to_have_text("Lien envoyé : ouvrez l'e-mail pour vous connecter.")
    otp = [body for path, _, body in gotrue.requests if path == "/auth/v1/otp"]
    assert otp and otp[-1]["email"] == gotrue.email
    assert otp[-1]["create_user"] is False  # no account is created for an unknown address (AUTH_ALLOW_SIGNUP=0)
    assert re.search("Lien", page.locator("#auth-dialog").inner_text())
