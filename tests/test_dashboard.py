"""The dashboard in a real headless Chromium against the dev server and the loopback OpenAI stand-in."""

import json
import re
import threading

import pytest

from tests.helpers import call, freeze_limit_clock
from tests.browser import DESKTOP, PHONE, Site, open_dashboard, screenshot

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=30_000)  # how long a hung page may take to fail, not a pace: 5 s is short on a busy CPU

ROOM = "https://chatgpt.com/gg/v/6745-room-demo"


@pytest.fixture
def site_with(env, fake_openai, tmp_path):
    """Start the site with extra settings: site_with(GROUPCHAT_URL=...)."""
    sites = []

    def start(**settings):
        env.setenv("HISTORY_DB", str(tmp_path / "history.sqlite3"))
        for name, value in settings.items():
            if value is None:
                env.delenv(name, raising=False)
            else:
                env.setenv(name, value)
        sites.append(Site(env))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


@pytest.fixture
def site(site_with):
    return site_with(GROUPCHAT_URL=ROOM)


@pytest.fixture
def context(chromium):
    context = chromium.new_context(viewport=DESKTOP, locale="fr-FR")
    context.route(re.compile(r"^https://chatgpt\.com/.*"),
                  lambda route: route.fulfill(status=200, content_type="text/html", body="<title>room</title>"))
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, errors


def chat_tab(page):
    page.get_by_role("tab", name="Chat intégré").click()
    return page


def send(page, text):
    # a reply's text can be whole before its stream ends, and until then the page ignores Enter
    expect(page.locator("#chat-input")).not_to_have_attribute("aria-busy", "true")
    page.locator("#chat-input").fill(text)
    page.locator("#chat-input").press("Enter")


def last_reply(page):
    return page.locator(".bubble.assistant").last


# --- the group room tab -----------------------------------------------------------------------------------

def test_the_group_link_comes_from_the_server_setting(page, site):
    open_dashboard(page, site)
    expect(page.get_by_label("Lien du salon")).to_have_value(ROOM)
    expect(page.locator("#group-message")).to_have_text("")


def test_a_link_that_is_not_chatgpt_is_refused(page, site):
    open_dashboard(page, site)
    field = page.get_by_label("Lien du salon")
    for bad in ("https://evil.example/gg/x", "http://chatgpt.com/gg/x", "javascript:alert(1)"):
        field.fill(bad)
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.locator("#group-message")).to_have_text(re.compile("seuls les liens https://chatgpt.com"))
        expect(field).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("localStorage.getItem('dashboard.groupchatUrl')") is None


def test_a_changed_link_is_kept_on_this_device(page, site):
    open_dashboard(page, site)
    page.get_by_label("Lien du salon").fill("https://chatgpt.com/gg/another-room")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#group-message")).to_have_text("Lien enregistré sur cet appareil.")
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(page.get_by_label("Lien du salon")).to_have_value("https://chatgpt.com/gg/another-room")
    page.get_by_role("button", name="Lien par défaut").click()
    expect(page.get_by_label("Lien du salon")).to_have_value(ROOM)


def test_open_uses_a_new_tab_without_opener(page, site, context):
    open_dashboard(page, site)
    with context.expect_page() as opened:
        page.get_by_role("button", name="Ouvrir le salon").click()
    room = opened.value
    room.wait_for_load_state()
    assert room.url == ROOM
    assert room.evaluate("window.opener") is None


def test_copy_puts_the_link_on_the_clipboard(page, site, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    page.get_by_role("button", name="Copier le lien").click()
    expect(page.locator("#group-message")).to_have_text("Lien copié dans le presse-papiers.")
    assert page.evaluate("navigator.clipboard.readText()") == ROOM


# --- the integrated chat ---------------------------------------------------------------------------------

def test_a_streamed_chat_end_to_end(page, site, fake_openai):
    chat_tab(open_dashboard(page, site))
    fake_openai.gate = threading.Event()  # hold the stream after its first chunk
    send(page, "Quel est le **solde** ?")
    expect(last_reply(page).locator(".body")).to_have_text("Echo:")  # the first delta, shown as it arrived
    expect(page.get_by_role("button", name="Arrêter")).to_be_visible()
    fake_openai.gate.set()
    expect(last_reply(page).locator(".body")).to_have_text("Echo: Quel est le solde ?")
    expect(last_reply(page).locator("strong")).to_have_text("solde")
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    expect(page.locator("#conversation-list li")).to_have_count(1)


def test_stop_ends_the_reply_and_keeps_what_arrived(page, site, fake_openai):
    chat_tab(open_dashboard(page, site))
    fake_openai.gate = threading.Event()
    send(page, " ".join(["mot"] * 1500))
    expect(last_reply(page).locator(".body")).to_have_text("Echo:")
    page.get_by_role("button", name="Arrêter").click()
    expect(last_reply(page).locator(".note")).to_have_text("Réponse interrompue.")
    fake_openai.gate.set()
    assert fake_openai.stream_aborted.wait(10)
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    fake_openai.gate = None


def test_an_upstream_error_is_explained_and_the_message_kept(page, site, fake_openai):
    chat_tab(open_dashboard(page, site))
    fake_openai.fail_next("quota")
    send(page, "Mon message important")
    expect(page.locator("#chat-error")).to_have_text(
        "Le crédit OpenAI du service est épuisé : prévenez l'administrateur.")
    expect(page.locator("#chat-input")).to_have_value("Mon message important")
    expect(page.locator(".bubble")).to_have_count(0)


def test_a_cut_stream_is_explained(page, site, fake_openai):
    chat_tab(open_dashboard(page, site))
    fake_openai.fail_next("cut")
    send(page, "un deux trois quatre cinq six sept")
    expect(page.locator("#chat-error")).to_have_text("La réponse a été coupée avant la fin. Réessayez.")
    expect(page.locator("#chat-input")).to_have_value("un deux trois quatre cinq six sept")


def test_a_rate_limit_says_when_to_retry(page, site_with, env):
    site = site_with(CHAT_RATE_LIMIT_PER_MINUTE="1")
    chat_tab(open_dashboard(page, site))
    freeze_limit_clock(env)
    send(page, "premier")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: premier")
    send(page, "second")
    expect(page.locator("#chat-error")).to_have_text(re.compile(r"^Trop de demandes\. Réessayez dans \d+ s\.$"))


def test_a_hostile_reply_stays_text(page, site):
    chat_tab(open_dashboard(page, site))
    hostile = '<img src=x onerror="window.pwned=1"> [clic](javascript:window.pwned=2) <b>gras</b>'
    send(page, hostile)
    expect(last_reply(page).locator(".body")).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert page.locator("#chat-log img, #chat-log b, #chat-log a[href^=javascript]").count() == 0
    assert page.evaluate("window.pwned") is None


def test_history_comes_back_after_a_reload(page, site):
    chat_tab(open_dashboard(page, site))
    send(page, "Budget 2027")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: Budget 2027")
    send(page, "Et 2028 ?")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: Et 2028 ?")
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(page.locator(".bubble")).to_have_count(4)
    expect(page.locator(".bubble.user").first).to_contain_text("Budget 2027")
    expect(page.locator("#conversation-list .open")).to_have_text(["Budget 2027"])
    page.get_by_role("button", name="Nouvelle conversation").click()
    expect(page.locator(".bubble")).to_have_count(0)
    page.locator("#conversation-list .open").first.click()
    expect(page.locator(".bubble")).to_have_count(4)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer « Budget 2027 »").click()
    expect(page.locator("#conversation-list li")).to_have_count(0)
    expect(page.locator(".bubble")).to_have_count(0)


def test_the_system_prompt_setting_is_sent(page, site, fake_openai):
    chat_tab(open_dashboard(page, site))
    page.get_by_text("Réglages").click()
    page.get_by_label("Consigne système (facultatif)").fill("Réponds en une phrase.")
    send(page, "Bonjour")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: Bonjour")
    assert fake_openai.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "Réponds en une phrase."}


def test_the_language_switch(page, site):
    open_dashboard(page, site)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("tab", name="ChatGPT Group")).to_be_visible()
    expect(page.get_by_role("button", name="Open the room")).to_be_visible()
    expect(page.get_by_role("button", name="Start the voice assistant")).to_be_visible()
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(page.get_by_role("tab", name="Integrated chat")).to_be_visible()
    page.get_by_role("button", name="Passer en français").click()
    expect(page.get_by_role("tab", name="Chat intégré")).to_be_visible()


# --- access ----------------------------------------------------------------------------------------------

def test_with_a_dashboard_token_the_page_asks_for_it(page, site_with):
    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN="jeton-du-tableau")
    chat_tab(open_dashboard(page, site))
    send(page, "sans jeton")
    expect(page.locator("#chat-error")).to_have_text("Accès refusé : connectez-vous ou vérifiez votre jeton.")
    page.get_by_placeholder("Jeton d'accès").fill("jeton-du-tableau")
    page.get_by_role("button", name="Utiliser ce jeton").click()
    send(page, "avec jeton")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: avec jeton")


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
    expect(page.locator("#auth-message")).to_have_text(re.compile("^Connexion refusée"))
    page.get_by_label("Mot de passe").fill(gotrue.password)
    page.get_by_role("button", name="Connexion", exact=True).click()
    expect(page.locator("#auth-area")).to_contain_text(f"Connecté : {gotrue.email}")
    chat_tab(page)
    send(page, "Je suis connecté")
    expect(last_reply(page).locator(".body")).to_have_text("Echo: Je suis connecté")
    assert page.evaluate("[...document.scripts].every(s => !s.src || s.src.startsWith(location.origin))")


def test_supabase_sign_in_with_a_magic_link(page, gotrue):
    open_sign_in(page, gotrue)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    expect(page.locator("#auth-message")).to_have_text("Lien envoyé : ouvrez l'e-mail pour vous connecter.")
    otp = [body for path, _, body in gotrue.requests if path == "/auth/v1/otp"]
    assert otp and otp[-1]["email"] == gotrue.email
    assert otp[-1]["create_user"] is False  # no account is created for an unknown address (AUTH_ALLOW_SIGNUP=0)


# --- the voice assistant ---------------------------------------------------------------------------------

def test_a_voice_session_end_to_end(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    responses = []
    page.on("response", lambda response: responses.append(response))
    peer = fake_openai.realtime()
    peer.speak, peer.finish = threading.Event(), threading.Event()  # the test moves the conversation on
    open_dashboard(page, site)
    page.get_by_role("button", name="Démarrer l'assistant vocal").click()
    status = page.locator("#voice-status")
    expect(status).to_have_attribute("data-state", "listening", timeout=15_000)
    expect(status).to_have_text("À l'écoute")
    peer.speak.set()
    expect(status).to_have_attribute("data-state", "speaking", timeout=15_000)
    expect(page.locator("#voice-transcript [data-speaker=assistant]")).to_have_text(
        "Bonjour, votre solde est de 1 250 euros.")
    expect(page.locator("#voice-transcript [data-speaker=user]")).to_have_text("Quel est mon solde ?")
    peer.finish.set()
    expect(status).to_have_attribute("data-state", "listening", timeout=10_000)
    assert fake_openai.realtime().frames_heard >= 10  # the microphone's audio reached the peer
    page.wait_for_function("document.getElementById('voice-audio').currentTime > 0")  # the model's audio plays
    call = next(r for r in fake_openai.requests if r["path"] == "/v1/realtime/calls")
    assert call["headers"]["authorization"].startswith("Bearer sk-canary")  # our server's key, from our server
    assert call["body"]["session"]["audio"]["input"]["transcription"]["model"] == "gpt-transcribe"
    with page.expect_response(lambda r: r.request.method == "DELETE" and "/api/realtime/call?" in r.url) as hangup:
        page.get_by_role("button", name="Arrêter l'assistant vocal").click()
    expect(status).to_have_text("Assistant vocal arrêté")
    assert page.evaluate("document.getElementById('voice-audio').srcObject") is None
    assert hangup.value.status == 200
    assert [c["ended"] for c in fake_openai.calls.values()] == [True]
    assert not [r.url for r in responses if "openai" in r.url or "/realtime/key" in r.url]
    seen = "".join(r.text() + json.dumps(r.headers) for r in responses if r.request.resource_type in ("fetch", "xhr"))
    assert "ek_" not in seen and "sk-canary" not in seen and "client_secret" not in seen  # no key reached the page
    chat_tab(page)
    expect(page.locator(".bubble.assistant").last).to_contain_text("Bonjour, votre solde est de 1 250 euros.")
    page.reload()
    page.locator("body[data-ready=true]").wait_for(timeout=10_000)
    chat_tab(page)
    expect(page.locator(".bubble.user").first).to_contain_text("Quel est mon solde ?")
    expect(page.locator(".bubble.assistant").first).to_contain_text("Bonjour, votre solde est de 1 250 euros.")
    send(page, "Et le mois dernier ?")
    expect(last_reply(page)).to_contain_text("Echo: Et le mois dernier ?")
    context_sent = fake_openai.requests[-1]["body"]["messages"]
    assert [m["content"] for m in context_sent[-3:]] == [
        "Quel est mon solde ?", "Bonjour, votre solde est de 1 250 euros.", "Et le mois dernier ?"]


def test_a_reply_the_user_talks_over_is_kept_as_far_as_heard(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    peer = fake_openai.realtime()
    peer.finish, peer.interrupted = threading.Event(), True
    open_dashboard(page, site)
    page.get_by_role("button", name="Démarrer l'assistant vocal").click()
    reply = page.locator("#voice-transcript [data-speaker=assistant]")
    expect(reply).to_have_text("Bonjour, ", timeout=15_000)
    peer.finish.set()  # the user speaks over the reply now
    expect(reply).to_have_attribute("data-reported", "true")
    page.get_by_role("button", name="Arrêter l'assistant vocal").click()
    chat_tab(page)
    expect(page.locator(".bubble.assistant").last).to_contain_text("Bonjour,")
    conversation = page.evaluate("localStorage.getItem('dashboard.conversationId')")
    stored = call(site.server.server_port, "GET", f"/api/groupchat/chat?conversationId={conversation}").json()
    assert [(m["role"], m["content"], m["status"], m["source"]) for m in stored["messages"]] == [
        ("user", "Quel est mon solde ?", "complete", "voice"), ("assistant", "Bonjour, ", "interrupted", "voice")]


def test_a_refused_microphone_is_explained(page, site, fake_openai):
    open_dashboard(page, site)
    page.get_by_role("button", name="Démarrer l'assistant vocal").click()
    expect(page.locator("#voice-status")).to_have_text("Micro refusé : autorisez le micro pour ce site.")
    assert not [r for r in fake_openai.requests if r["path"].startswith("/v1/realtime")]  # no key was minted


def test_a_refused_key_is_explained(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    fake_openai.fail_next("401")
    page.get_by_role("button", name="Démarrer l'assistant vocal").click()
    expect(page.locator("#voice-status")).to_have_text(re.compile("^Session vocale refusée"))
    expect(page.locator("#voice-status")).to_have_attribute("data-state", "error")


def test_an_unreachable_openai_is_explained(context, page, site_with):
    site = site_with(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    page.get_by_role("button", name="Démarrer l'assistant vocal").click()
    expect(page.locator("#voice-status")).to_have_text(re.compile("^Session vocale refusée"), timeout=15_000)
    expect(page.get_by_role("button", name="Démarrer l'assistant vocal")).to_have_attribute("aria-pressed", "false")


# --- how it looks and how it is used ---------------------------------------------------------------------

@pytest.mark.parametrize("viewport_name, viewport", [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_of_each_tab(chromium, site, viewport_name, viewport):
    context = chromium.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    open_dashboard(page, site)
    assert screenshot(page, f"group-{viewport_name}").stat().st_size > 5000
    chat_tab(page)
    send(page, "Résume mes dépenses du **mois** :\n- loyer\n- courses")
    expect(last_reply(page).locator("li")).to_have_count(2)
    assert screenshot(page, f"chat-{viewport_name}").stat().st_size > 5000
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {viewport_name} width"
    context.close()


def test_tabs_work_from_the_keyboard(page, site):
    open_dashboard(page, site)
    page.get_by_role("tab", name="ChatGPT Groupe").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Chat intégré")).to_be_focused()
    expect(page.get_by_role("tab", name="Chat intégré")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-chat")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#panel-group")).to_be_visible()


@pytest.mark.parametrize("tab", ["ChatGPT Groupe", "Chat intégré"])
def test_no_serious_accessibility_violations(page, site, tab):
    from axe_playwright_python.sync_playwright import Axe

    open_dashboard(page, site)
    page.get_by_role("tab", name=tab).click()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]
