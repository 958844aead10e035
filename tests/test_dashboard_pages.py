"""The conversation list in pages (issue 24): older conversations load as the list scrolls or from its "Load more"
button, date headings go on across pages, search pages alike; and search asks the server less often (issue 28)."""

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from lib.access import ANONYMOUS_USER_ID
from lib.stores.sqlite import SqliteStore
from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, new_context, page, show_conversations, site, site_with, text, view, watched,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

COUNT = 260


@pytest.fixture
def seeded_site(site, tmp_path):
    """The site with 260 conversations of the (anonymous) user's, one every 23 hours back from now, the oldest
    "Conversation 259"; every third mentions dividends."""
    store = SqliteStore(str(tmp_path / "history.sqlite3"))
    now, when = datetime.now(timezone.utc), []
    for n in range(COUNT):
        conversation = str(uuid.uuid4())
        store.record_turn(ANONYMOUS_USER_ID, conversation, f"Conversation {n}",
                          "Et les dividendes ?" if n % 3 == 0 else "Livret A", "Réponse")
        when.append(((now - timedelta(hours=23 * n)).isoformat(timespec="microseconds"), conversation))
    with sqlite3.connect(tmp_path / "history.sqlite3") as db:
        db.executemany("update conversations set updated_at = ? where id = ?", when)
    return site


def rows(items):
    return items.locator("li[data-id]:not(.more)")


def scroll_to_the_end(items):
    items.evaluate("(list) => { list.scrollTop = list.scrollHeight; }")


def test_older_conversations_load_as_the_list_scrolls(view, seeded_site):
    open_dashboard(view, seeded_site)
    items = show_conversations(view)
    expect(rows(items)).to_have_count(50)
    expect(items.locator(".open .title").first).to_have_text("Conversation 0")
    for shown in (100, 150, 200, 250, COUNT):
        scroll_to_the_end(items)
        expect(rows(items)).to_have_count(shown)
    expect(items.locator(".more")).to_have_count(0)  # the whole list: no button left
    expect(items.locator(".open .title").last).to_have_text(f"Conversation {COUNT - 1}")
    headings = items.locator(".day h2").all_inner_texts()
    assert len(headings) == len(set(headings)), headings  # each date heading once, across pages
    assert headings[:2] == [text(view, "list.today"), text(view, "list.yesterday")]
    scroll_to_the_end(items)
    screenshot(view, f"list-pages-end-{view.name}")


def test_the_load_more_button_serves_the_keyboard(view, seeded_site):
    open_dashboard(view, seeded_site)
    items = show_conversations(view)
    expect(rows(items)).to_have_count(50)
    button = items.get_by_role("button", name=text(view, "list.more"))
    screenshot(view, f"list-pages-more-{view.name}")
    button.focus()
    view.keyboard.press("Enter")
    focused = view.locator("#conversation-list li[data-id] button.open:focus")
    expect(focused).to_have_count(1)
    number = int(focused.locator(".title").inner_text().split()[-1])
    assert number >= 50  # focus went on to a conversation the button loaded


def test_search_pages_the_same_way(view, seeded_site):
    open_dashboard(view, seeded_site)
    items = show_conversations(view)
    view.get_by_role("searchbox", name=text(view, "search.label")).fill("dividende")
    expect(items.locator(".snippet")).to_have_count(50)
    scroll_to_the_end(items)
    expect(items.locator(".snippet")).to_have_count(87)  # every third of 260
    expect(items.locator(".more")).to_have_count(0)
    expect(items.locator(".open .title").last).to_have_text("Conversation 258")
    expect(items.locator(".day")).to_have_count(0)  # search results stay one list
    screenshot(view, f"list-pages-search-{view.name}")


def test_dark_pages_look_right(chromium, seeded_site):
    from tests.browser import DESKTOP, PHONE

    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context = new_context(chromium, size, "fr", scheme="dark")
        page = watched(context.new_page())
        page.phone = size == PHONE
        open_dashboard(page, seeded_site)
        items = show_conversations(page)
        expect(rows(items)).to_have_count(50)
        scroll_to_the_end(items)
        expect(rows(items)).to_have_count(100)
        items.get_by_role("button", name=text(page, "list.more")).scroll_into_view_if_needed()
        screenshot(page, f"list-pages-dark-{name}-fr")
        assert not page.errors, page.errors
        context.close()


def test_search_waits_for_two_letters_and_a_new_query(page, seeded_site):
    asked = []
    page.on("request", lambda request: asked.append(request.url.split("?", 1)[-1])
            if "/api/groupchat/chat?q=" in request.url and "cursor=" not in request.url else None)
    page.clock.install()
    open_dashboard(page, seeded_site)
    search = page.get_by_role("searchbox", name=text(page, "search.label"))
    search.fill("d")
    page.clock.run_for(2000)
    search.fill("di")
    page.clock.run_for(2000)
    expect(page.locator("#conversation-list .snippet")).to_have_count(50)
    search.fill("di ")  # the same query once trimmed
    page.clock.run_for(2000)
    search.fill("div")
    page.clock.run_for(2000)
    expect(page.locator("#conversation-list .snippet").first).to_contain_text("div")
    expect(page.locator("#conversation-list li[data-id]:not(.more)")).to_have_count(50)
    assert asked == ["q=di", "q=div"], asked
