"""Fixtures of the dashboard's browser tests: Chromium, the site under test, a page in each view (size, language)."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, VIEWS, Site, open_dashboard

ROOM = "https://chatgpt.com/gg/v/6745-room-demo"


try:  # a generous ceiling for every expect(): on a loaded machine Chromium can take seconds to paint (tests still
    # wait on DOM state, never on time)
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=20_000)
except ImportError:
    pass


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium under Playwright, one for the whole run (the dashboard and room browser tests)."""
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site_with(env, fake_openai, tmp_path):
    """Start the site with extra settings: site_with(GROUPCHAT_URL=...); None removes a setting."""
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


def new_context(chromium, viewport=DESKTOP, lang="fr", scheme="light"):
    """A browser context at this size, in this language and colour scheme (a phone has touch, as phones do)."""
    phone = viewport == PHONE
    context = chromium.new_context(viewport=viewport, locale="fr-FR" if lang == "fr" else "en-GB",
                                   color_scheme=scheme, is_mobile=phone, has_touch=phone)
    context.add_init_script(f"localStorage.getItem('dashboard.lang') || localStorage.setItem('dashboard.lang', '{lang}')")
    context.route(re.compile(r"^https://chatgpt\.com/.*"),
                  lambda route: route.fulfill(status=200, content_type="text/html", body="<title>room</title>"))
    return context


@pytest.fixture
def context(chromium):
    context = new_context(chromium)
    yield context
    context.close()


def watched(page):
    """The page, with its script errors collected (a test ends by asserting there were none)."""
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


@pytest.fixture
def page(context):
    page = watched(context.new_page())
    yield page
    assert not page.errors, page.errors


@pytest.fixture(params=list(VIEWS))
def view(request, chromium):
    """A page in each of the four views; view.lang and view.phone say which."""
    viewport, lang = VIEWS[request.param]
    context = new_context(chromium, viewport, lang)
    page = watched(context.new_page())
    page.lang, page.phone, page.name = lang, viewport == PHONE, request.param
    yield page
    context.close()
    assert not page.errors, page.errors


def text(page, key: str, **values) -> str:
    """The page's own string for a key, in the page's current language."""
    return page.evaluate("([key, values]) => import('/js/i18n.js').then((m) => m.t(key, values))", [key, values])


def open_in(page, site):
    open_dashboard(page, site)
    return page


def send(page, message: str):
    page.locator("#chat-input").fill(message)
    page.locator("#chat-send").click()


def last_reply(page):
    return page.locator(".message.assistant").last


def reply_done(page, expected: str):
    from playwright.sync_api import expect

    expect(last_reply(page)).to_have_attribute("data-state", "done")
    expect(last_reply(page).locator(".body")).to_have_text(expected)


def show_conversations(page):
    """The conversation list: beside the chat on a laptop, in the drawer on a phone."""
    from playwright.sync_api import expect

    if getattr(page, "phone", False) and page.locator("body[data-drawer=open]").count() == 0:
        page.locator("#drawer-button").click()
        expect(page.locator("#chat-sidebar")).to_be_visible()
        expect(page.locator("#chat-sidebar")).to_have_css("transform", "none")  # slid in: its buttons stay put
    return page.locator("#conversation-list")


def new_conversation(page):
    """Start a new conversation: the list's button (laptop, open drawer) or the header's (phone)."""
    page.get_by_role("button", name=text(page, "chat.new")).last.click()
