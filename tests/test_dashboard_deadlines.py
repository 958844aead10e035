"""What the page shows of a reply's time bounds: "Réflexion…" while the model thinks, and "Continuer" after a reply
the server ended at its function's time limit (the deadline on a frozen clock: no test waits for it)."""

import threading

import pytest

from lib import deadline, settings
from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, last_reply, page, reply_done, send, site, site_with, text, view,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def test_a_thinking_model_shows_reflexion_and_a_reply_cut_at_the_time_limit_offers_to_continue(
        view, site, fake_openai, clock):
    fake_openai.thinking, fake_openai.gate = threading.Event(), threading.Event()
    open_dashboard(view, site)
    send(view, "Un long raisonnement")
    assert fake_openai.thinking_began.wait(20)  # the request has begun: its deadline counts from here
    reply = last_reply(view)
    expect(reply.locator(".thinking")).to_contain_text(text(view, "chat.thinking"))
    clock.advance(deadline.THINKING_AFTER_SECONDS)
    expect(reply.locator(".thinking")).to_contain_text(text(view, "chat.reasoning"))
    screenshot(view, f"reasoning-{view.name}")

    fake_openai.thinking.set()  # the first words, then OpenAI holds the rest past the function's limit
    expect(reply.locator(".body")).to_contain_text("Echo:")
    clock.advance(settings.MAX_DURATION_SECONDS["groupchat/chat"])
    expect(reply).to_have_attribute("data-state", "done")
    expect(reply).to_contain_text(text(view, "chat.timeLimit"))
    more = reply.get_by_role("button", name=text(view, "chat.continue"))
    expect(more).to_be_visible()
    screenshot(view, f"time-limit-{view.name}")

    fake_openai.thinking = fake_openai.gate = None
    more.click()
    reply_done(view, f"Echo: {text(view, 'chat.continuePrompt')}")
    expect(view.locator(".message.user .body").last).to_have_text(text(view, "chat.continuePrompt"))
    expect(view.get_by_role("button", name=text(view, "chat.continue"))).to_have_count(0)


def test_a_regenerated_reply_cut_at_the_time_limit_still_offers_to_continue_once_redrawn(view, site, fake_openai,
                                                                                          clock):
    open_dashboard(view, site)
    send(view, "Bonjour")
    reply_done(view, "Echo: Bonjour")
    fake_openai.gate = threading.Event()  # the new version's first words, then OpenAI holds the rest
    view.locator(".message.assistant .regenerate").last.click()
    reply = last_reply(view)
    expect(reply.locator(".body")).to_have_text("Echo:")
    clock.advance(settings.MAX_DURATION_SECONDS["groupchat/chat"])
    expect(view.locator(".message.assistant .versions")).to_contain_text("2/2")  # redrawn from the store
    expect(last_reply(view)).to_contain_text(text(view, "chat.timeLimit"))
    expect(last_reply(view).get_by_role("button", name=text(view, "chat.continue"))).to_be_visible()
    fake_openai.gate.set()
