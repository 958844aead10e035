"""The conversation list beside the chat (a drawer on phones): history, dates, search, rename, delete."""

import re

import pytest

from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, new_conversation, page, reply_done, send, show_conversations, site, site_with, text, view,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def chat_twice(page):
    send(page, "Budget 2027")
    reply_done(page, "Echo: Budget 2027")
    send(page, "Et 2028 ?")
    reply_done(page, "Echo: Et 2028 ?")


def test_history_comes_back_after_a_reload_with_dates_in_the_list(view, site):
    open_dashboard(view, site)
    chat_twice(view)
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    expect(view.locator(".message")).to_have_count(4)
    expect(view.locator(".message time")).to_have_count(4)
    items = show_conversations(view)
    expect(items.locator(".open .title")).to_have_text(["Budget 2027"])
    expect(items.locator(".open time")).to_have_text(re.compile(r"^\d\d:\d\d$"))  # today: the time
    expect(items.locator(".open")).to_have_attribute("aria-current", "page")
    screenshot(view, f"conversations-{view.name}")
    new_conversation(view)
    expect(view.locator(".message")).to_have_count(0)
    items = show_conversations(view)
    items.locator(".open").first.click()
    expect(view.locator(".message")).to_have_count(4)


def test_delete_asks_in_an_accessible_dialog(view, site):
    open_dashboard(view, site)
    chat_twice(view)
    view.on("dialog", lambda dialog: pytest.fail(f"a browser dialog was used: {dialog.message}"))
    items = show_conversations(view)
    delete = view.get_by_role("button", name=text(view, "chat.delete", title="Budget 2027"))
    delete.click()
    dialog = view.get_by_role("dialog", name=text(view, "chat.deleteTitle"))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Budget 2027")
    expect(dialog.get_by_role("button", name=text(view, "dialog.cancel"))).to_be_focused()
    screenshot(view, f"delete-dialog-{view.name}")
    view.keyboard.press("Escape")  # cancel: nothing deleted, focus back where it was
    expect(dialog).to_be_hidden()
    expect(items.locator("li[data-id]")).to_have_count(1)
    if view.phone:  # the drawer closed under the dialog: focus is on the menu button, which opens it again
        expect(view.locator("#drawer-button")).to_be_focused()
        show_conversations(view)
    else:
        expect(delete).to_be_focused()
    delete.click()
    dialog.get_by_role("button", name=text(view, "chat.deleteConfirm")).click()
    expect(items.locator("li[data-id]")).to_have_count(0)
    expect(view.locator(".message")).to_have_count(0)
    expect(view.locator(".empty h3")).to_be_visible()


def redraw_the_list(page):
    """Draw the conversation list again (as a late refresh does) and wait until its old buttons are gone."""
    page.evaluate("""() => {
        window.oldRow = document.querySelector("#conversation-list li[data-id]");
        document.getElementById("search-form").requestSubmit();
    }""")
    page.wait_for_function("() => !window.oldRow.isConnected")


def test_focus_comes_back_to_the_list_even_when_it_was_drawn_again_meanwhile(view, site):
    open_dashboard(view, site)
    chat_twice(view)
    show_conversations(view)
    delete = view.get_by_role("button", name=text(view, "chat.delete", title="Budget 2027"))
    delete.click()
    dialog = view.get_by_role("dialog", name=text(view, "chat.deleteTitle"))
    expect(dialog).to_be_visible()
    redraw_the_list(view)  # while the dialog is open: the button that opened it is gone
    view.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    if view.phone:  # the drawer closed under the dialog: focus on the menu button, never on a hidden one
        expect(view.locator("#drawer-button")).to_be_focused()
        return
    expect(delete).to_be_focused()  # its replacement
    redraw_the_list(view)  # while focus is in the list
    expect(delete).to_be_focused()


def test_rename_in_a_dialog(view, site):
    open_dashboard(view, site)
    chat_twice(view)
    items = show_conversations(view)
    view.get_by_role("button", name=text(view, "chat.rename", title="Budget 2027")).click()
    dialog = view.get_by_role("dialog", name=text(view, "chat.renameTitle"))
    field = dialog.get_by_label(text(view, "chat.renameLabel"))
    expect(field).to_have_value("Budget 2027")
    field.fill("   ")
    dialog.get_by_role("button", name=text(view, "chat.renameSave")).click()
    expect(dialog.locator("#rename-message")).to_have_text(text(view, "chat.renameInvalid"))
    field.fill("Budget familial")
    dialog.get_by_role("button", name=text(view, "chat.renameSave")).click()
    expect(items.locator(".open .title")).to_have_text(["Budget familial"])
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    expect(show_conversations(view).locator(".open .title")).to_have_text(["Budget familial"])


def test_search_finds_message_text_on_the_server(view, site):
    open_dashboard(view, site)
    for question in ("Livret A", "Assurance vie", "PEA et dividendes"):
        new_conversation(view)
        send(view, question)
        reply_done(view, f"Echo: {question}")
    items = show_conversations(view)
    expect(items.locator("li[data-id]")).to_have_count(3)
    search = view.get_by_role("searchbox", name=text(view, "search.label"))
    search.fill("dividende")
    expect(items.locator(".open .title")).to_have_text(["PEA et dividendes"])
    expect(items.locator(".snippet")).to_have_text(["Echo: PEA et dividendes"])
    search.fill("introuvable")
    expect(items.locator("li[data-id]")).to_have_count(0)
    expect(view.locator("#list-status")).to_have_text(text(view, "search.none", query="introuvable"))
    screenshot(view, f"search-none-{view.name}")
    search.fill("")
    expect(items.locator("li[data-id]")).to_have_count(3)


def test_on_a_phone_the_list_is_a_drawer(chromium, site):
    from tests.browser import PHONE
    from tests.browser_fixtures import new_context

    context = new_context(chromium, PHONE)
    page = context.new_page()
    open_dashboard(page, site)
    send(page, "Budget")
    reply_done(page, "Echo: Budget")
    expect(page.locator("#chat-sidebar")).to_be_hidden()
    page.get_by_role("button", name="Conversations").click()
    expect(page.locator("#chat-sidebar")).to_be_visible()
    expect(page.get_by_role("button", name="Conversations")).to_have_attribute("aria-expanded", "true")
    screenshot(page, "drawer-phone-fr")
    page.keyboard.press("Escape")
    expect(page.locator("#chat-sidebar")).to_be_hidden()
    page.get_by_role("button", name="Conversations").click()
    page.locator("#conversation-list .open").first.click()  # opening a conversation closes the drawer
    expect(page.locator("#chat-sidebar")).to_be_hidden()
    expect(page.locator(".message")).to_have_count(2)
    context.close()


def test_without_history_there_is_no_list_and_the_page_says_so(view, site_with):
    site = site_with(HISTORY_DB=None)
    open_dashboard(view, site)
    expect(view.locator("#chat-sidebar")).to_be_hidden()
    expect(view.locator("#drawer-button")).to_be_hidden()
    expect(view.locator("#chat-notice")).to_have_text(text(view, "chat.historyOff"))
    send(view, "Sans historique")
    reply_done(view, "Echo: Sans historique")
    expect(view.locator(".regenerate:visible")).to_have_count(0)
    expect(view.get_by_role("button", name=text(view, "group.button"))).to_be_visible()  # the launcher moves up
    assert view.locator("#brand-name").bounding_box()["width"] > 60  # and leaves the brand its room
    assert view.locator(".topbar").bounding_box()["height"] <= 64
    screenshot(view, f"history-off-{view.name}")


def test_a_long_conversation_opens_on_its_newest_messages_and_earlier_ones_come_on_scrolling_up(view, site):
    import os
    import sqlite3

    from lib import settings, stores
    from lib.conversations import READ_PAGE

    open_dashboard(view, site)
    send(view, "Question 0")
    reply_done(view, "Echo: Question 0")
    conversation = view.evaluate("() => localStorage.getItem('dashboard.conversationId')")
    with sqlite3.connect(os.environ["HISTORY_DB"]) as db:
        [owner] = db.execute("select user_id from conversations where id = ?", (conversation,)).fetchone()
    more = [{"role": ("user", "assistant")[i % 2], "content": f"Message {i}"} for i in range(READ_PAGE + 30)]
    stores.open_store(settings.history(os.environ)).record_messages(owner, conversation, "Question 0", more)
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    log = view.locator("#chat-log .message")
    expect(log).to_have_count(READ_PAGE)
    expect(log.last).to_contain_text(f"Message {READ_PAGE + 29}")
    earlier = view.get_by_role("button", name=text(view, "chat.older"))
    expect(earlier).to_be_attached()
    reading = log.first.inner_text()
    earlier.scroll_into_view_if_needed()  # the reader scrolls up: the next page comes by itself
    expect(log).to_have_count(READ_PAGE + 32)
    expect(log.first).to_contain_text("Question 0")
    expect(earlier).to_be_hidden()
    assert view.locator("#chat-log .message").nth(32).inner_text() == reading  # the same messages, in order
    box, height = view.locator("#chat-log .message").nth(32).bounding_box(), view.viewport_size["height"]
    assert 0 < box["y"] + box["height"] and box["y"] < height, "the reader's place is kept: what was read stays in view"
    screenshot(view, f"earlier-messages-{view.name}")
