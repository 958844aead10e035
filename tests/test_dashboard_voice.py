"""The voice assistant in the dashboard: a labelled button, its state in the header, a transcript with speakers,
kept as the user's (the assistant's side as their device's quoted report), and the right words for each failure."""

import json
import re
import threading

import pytest

from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, page, reply_done, send, site, site_with, text, view,
)
from tests.helpers import call
from lib.transcripts import device_note

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def start(page):
    page.get_by_role("button", name=text(page, "voice.start")).click()


def test_the_button_has_a_visible_label(view, site):
    open_dashboard(view, site)
    button = view.get_by_role("button", name=text(view, "voice.start"))
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    if not view.phone:
        expect(button.locator(".voice-label")).to_have_text(text(view, "voice.label"))


def test_a_voice_session_end_to_end(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    responses = []
    page.on("response", lambda response: responses.append(response))
    peer = fake_openai.realtime()
    peer.speak, peer.finish = threading.Event(), threading.Event()  # the test moves the conversation on
    open_dashboard(page, site)
    start(page)
    status = page.locator("#voice-status")
    expect(status).to_have_attribute("data-state", "listening", timeout=15_000)
    expect(status).to_have_text("À l'écoute")
    expect(page.locator(".topbar #voice-status")).to_be_visible()  # the state sits in the header
    expect(page.locator("#voice-disclosure")).to_contain_text("intelligence artificielle")
    peer.speak.set()
    expect(status).to_have_attribute("data-state", "speaking", timeout=15_000)
    assistant = page.locator("#voice-transcript [data-speaker=assistant]")
    expect(assistant.locator(".text")).to_have_text("Bonjour, votre solde est de 1 250 euros.")
    expect(assistant.locator(".who")).to_have_text("Assistant")
    user = page.locator("#voice-transcript [data-speaker=user]")
    expect(user.locator(".text")).to_have_text("Quel est mon solde ?")
    expect(user.locator(".who")).to_have_text("Vous")
    screenshot(page, "voice-speaking-desktop-fr")
    peer.finish.set()
    expect(status).to_have_attribute("data-state", "listening", timeout=10_000)
    assert fake_openai.realtime().frames_heard >= 10  # the microphone's audio reached the peer
    expect(page.locator("#voice-audio")).to_have_js_property("paused", False)
    made = next(r for r in fake_openai.requests if r["path"] == "/v1/realtime/calls")
    assert made["headers"]["authorization"].startswith("Bearer sk-canary")  # our server's key, from our server
    assert made["body"]["session"]["audio"]["input"]["transcription"] == {"model": "gpt-transcribe", "language": "fr"}
    with page.expect_response(lambda r: r.request.method == "DELETE" and "/api/realtime/call?" in r.url) as hangup:
        page.get_by_role("button", name="Arrêter l'assistant vocal").click()
    expect(status).to_have_text("Assistant vocal arrêté")
    expect(page.locator("#voice-transcript p")).to_have_count(0)  # the transcript goes with the session
    expect(page.locator("#voice-panel")).to_be_hidden()
    assert page.evaluate("document.getElementById('voice-audio').srcObject") is None
    assert hangup.value.status == 200
    assert [c["ended"] for c in fake_openai.calls.values()] == [True]
    assert not [r.url for r in responses if "openai" in r.url or "/realtime/key" in r.url]
    seen = "".join(r.text() + json.dumps(r.headers) for r in responses if r.request.resource_type in ("fetch", "xhr"))
    assert "ek_" not in seen and "sk-canary" not in seen and "client_secret" not in seen  # no key reached the page
    reported = device_note("Bonjour, votre solde est de 1 250 euros.")  # the user's own note, never the assistant's
    expect(page.locator(".message.user").last).to_contain_text("Transcription rapportée par mon appareil")
    expect(page.locator(".message.user").last).to_contain_text("Bonjour, votre solde est de 1 250 euros.")
    expect(page.locator(".message.assistant")).to_have_count(0)
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(page.locator(".message.user").first).to_contain_text("Quel est mon solde ?")
    expect(page.locator(".message.user").nth(1)).to_contain_text("non vérifiée")
    expect(page.locator(".message.assistant")).to_have_count(0)
    send(page, "Et le mois dernier ?")
    reply_done(page, "Echo: Et le mois dernier ?")
    context_sent = fake_openai.requests[-1]["body"]["messages"]
    assert [(m["role"], m["content"]) for m in context_sent[-3:]] == [
        ("user", "Quel est mon solde ?"), ("user", reported), ("user", "Et le mois dernier ?")]


def test_a_reply_the_user_talks_over_is_kept_as_far_as_heard(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    peer = fake_openai.realtime()
    peer.finish, peer.interrupted = threading.Event(), True
    open_dashboard(page, site)
    start(page)
    reply = page.locator("#voice-transcript [data-speaker=assistant] .text")
    expect(reply).to_have_text("Bonjour, ", timeout=15_000)
    peer.finish.set()  # the user speaks over the reply now
    expect(reply).to_have_attribute("data-reported", "true")
    page.get_by_role("button", name="Arrêter l'assistant vocal").click()
    expect(page.locator(".message.user").last).to_contain_text("avant d'être interrompu")
    conversation = page.evaluate("localStorage.getItem('dashboard.conversationId')")
    stored = call(site.server.server_port, "GET", f"/api/groupchat/chat?conversationId={conversation}").json()
    assert [(m["role"], m["content"], m["status"], m["source"]) for m in stored["messages"]] == [
        ("user", "Quel est mon solde ?", "complete", "voice"),
        ("user", device_note("Bonjour, ", "interrupted"), "complete", "voice")]


def test_a_refused_microphone_is_explained(view, site, fake_openai):
    open_dashboard(view, site)
    start(view)
    expect(view.locator("#voice-status")).to_have_text(text(view, "voice.error.microphone"))
    assert not [r for r in fake_openai.requests if r["path"].startswith("/v1/realtime")]  # no key was minted
    screenshot(view, f"voice-microphone-refused-{view.name}")


def test_a_refused_key_is_explained(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    fake_openai.fail_next("401")
    start(page)
    expect(page.locator("#voice-status")).to_have_text("Session vocale refusée par le service. Réessayez plus tard.")
    expect(page.locator("#voice-status")).to_have_attribute("data-state", "error")


def test_an_unreachable_openai_is_explained(context, page, site_with):
    site = site_with(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    start(page)
    expect(page.locator("#voice-status")).to_have_text(re.compile("^Session vocale refusée"), timeout=15_000)
    expect(page.get_by_role("button", name="Démarrer l'assistant vocal")).to_have_attribute("aria-pressed", "false")


def test_a_server_without_voice_says_it_is_not_available(context, page, site):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    context.route(re.compile(r".*/realtime/calls?(\?.*)?$"), lambda route: route.fulfill(
        status=501, content_type="application/json",
        body='{"error": {"code": "not_implemented", "message": "the voice stand-in needs aiortc"}}'))
    open_dashboard(page, site)
    start(page)
    expect(page.locator("#voice-status")).to_have_text("L'assistant vocal n'est pas disponible sur ce service.",
                                                       timeout=15_000)
    assert "aiortc" not in page.locator("body").inner_text()


def test_an_unreachable_server_is_a_network_error(context, page, site):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    context.route(re.compile(r".*/api/realtime/call(\?.*)?$"), lambda route: route.abort("connectionrefused"))
    open_dashboard(page, site)
    start(page)
    expect(page.locator("#voice-status")).to_have_text("Connexion vocale impossible : vérifiez votre réseau.",
                                                       timeout=15_000)
    expect(page.get_by_role("button", name="Démarrer l'assistant vocal")).to_have_attribute("aria-pressed", "false")


def test_the_voice_state_follows_the_language(page, site):
    open_dashboard(page, site)
    start(page)
    expect(page.locator("#voice-status")).to_have_text(re.compile("^Micro refusé"))
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#voice-status")).to_have_text(re.compile("^Microphone refused"))
    expect(page.locator("#voice-label")).to_have_text("Voice")


def test_an_english_page_asks_for_english_transcription(context, page, site, fake_openai):
    context.grant_permissions(["microphone"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    page.get_by_role("button", name="Switch to English").click()
    start(page)
    expect(page.locator("#voice-status")).to_have_attribute("data-state", "listening", timeout=15_000)
    made = next(r for r in fake_openai.requests if r["path"] == "/v1/realtime/calls")
    assert made["body"]["session"]["audio"]["input"]["transcription"] == {"model": "gpt-transcribe", "language": "en"}
    page.get_by_role("button", name="Stop the voice assistant").click()
    expect(page.locator("#voice-status")).to_have_attribute("data-state", "stopped")
