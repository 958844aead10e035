"""Feedback and export in the browser: thumbs on a reply that stay pressed after a reload, the optional comment
box, the Markdown download built from what the page shows (rooms: authors' names), the printed record (no list,
no buttons; brand, title, date and AI notice), and axe in every chat state, light and dark, laptop and phone."""

import re
import threading
import uuid

import pytest

from tests.browser import DESKTOP, PHONE, open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, new_context, page, reply_done, send, site, site_with, text, view)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

TABLE = "Taux :\n\n| Produit | Taux |\n|---|---:|\n| Livret A | 3 % |\n\n```python\nprint(42)\n```"


def store_of(site):
    import os

    from lib.stores.sqlite import SqliteStore

    return SqliteStore(os.environ["HISTORY_DB"])


def converse(page, message=TABLE):
    send(page, message)
    reply_done(page, re.compile("Echo: Taux" if message == TABLE else f"Echo: {re.escape(message)}"))
    expect(page.locator(".message.assistant .thumb.up").last).to_be_visible()


def thumbs(page):
    reply = page.locator(".message.assistant").last
    return reply.locator(".thumb.up"), reply.locator(".thumb.down")


def test_a_thumb_stays_pressed_after_a_reload_and_the_comment_is_kept(view, site):
    open_dashboard(view, site)
    converse(view)
    up, down = thumbs(view)
    expect(up).to_have_attribute("aria-pressed", "false")
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    box = view.locator(".feedback-box")
    expect(box.locator("textarea")).to_be_focused()
    box.locator("textarea").fill("Le taux est ancien.")
    screenshot(view, f"feedback-box-{view.name}")
    box.get_by_role("button", name=text(view, "feedback.send")).click()
    expect(box.locator(".feedback-status")).to_have_text(text(view, "feedback.sent"))
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    up, down = thumbs(view)
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    rows = store_of(site).feedback_between("0001-01-01", "9999-12-31", 10)
    assert [(r["rating"], r["comment"]) for r in rows] == [("down", "Le taux est ancien.")]
    up.click()  # the other thumb replaces it; pressing it again takes it back
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")
    expect(view.locator(".feedback-box textarea")).to_be_focused()
    expect(view.locator(".feedback-box label")).to_have_text(text(view, "feedback.whyUp"))
    view.keyboard.press("Escape")
    expect(view.locator(".feedback-box")).to_have_count(0)
    expect(up).to_be_focused()
    up.click()
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(view.locator(".feedback-box")).to_have_count(0)
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    expect(thumbs(view)[0]).to_have_attribute("aria-pressed", "false")
    assert store_of(site).feedback_between("0001-01-01", "9999-12-31", 10) == []


def test_a_regenerated_reply_loses_its_thumb(page, site):
    open_dashboard(page, site)
    converse(page, "Bonjour")
    up, _ = thumbs(page)
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    page.locator(".message.assistant .regenerate").last.click()
    reply_done(page, re.compile("Echo: Bonjour"))
    expect(thumbs(page)[0]).to_have_attribute("aria-pressed", "false")
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(thumbs(page)[0]).to_have_attribute("aria-pressed", "false")


def download_markdown(page) -> tuple[str, str]:
    page.locator("#export-button").click()
    expect(page.locator("#export-menu")).to_be_visible()
    with page.expect_download() as started:
        page.get_by_role("menuitem", name=text(page, "export.markdown")).click()
    download = started.value
    with open(download.path(), encoding="utf-8") as file:
        return download.suggested_filename, file.read()


def test_the_markdown_export_is_the_conversation_as_the_page_shows_it(view, site):
    open_dashboard(view, site)
    expect(view.locator("#conversation-tools")).to_be_hidden()  # nothing to export yet
    converse(view)
    converse(view, "Et le PEL ?")
    name, content = download_markdown(view)
    title = "Taux"  # the conversation's title: its first message's first words
    assert re.fullmatch(r"taux[a-z0-9-]*-\d{4}-\d{2}-\d{2}\.md", name), name
    assert content.startswith(f"# {title}"), content[:200]
    assert text(view, "notice.ai") in content
    you, assistant = text(view, "chat.you"), text(view, "chat.assistant")
    authors = re.findall(r"^\*\*(.+?)\*\* — ", content, re.M)
    assert authors == [you, assistant, you, assistant]
    assert "| Livret A | 3 % |" in content and "```python\nprint(42)\n```" in content
    assert content.index("Et le PEL ?") < content.index("Echo: Et le PEL ?")
    view.locator("#export-button").click()
    expect(view.get_by_role("menuitem").first).to_be_focused()
    view.keyboard.press("ArrowDown")
    expect(view.get_by_role("menuitem", name=text(view, "export.print"))).to_be_focused()
    screenshot(view, f"export-menu-{view.name}")
    view.keyboard.press("Escape")
    expect(view.locator("#export-menu")).to_be_hidden()
    expect(view.locator("#export-button")).to_be_focused()


def test_the_printed_page_is_a_record_without_the_list_or_any_button(chromium, site):
    for lang, viewport, scheme in (("fr", DESKTOP, "light"), ("en", DESKTOP, "dark"), ("fr", PHONE, "light"),
                                   ("en", PHONE, "dark")):
        context = new_context(chromium, viewport, lang, scheme)
        page = context.new_page()
        open_dashboard(page, site)
        converse(page)
        thumbs(page)[1].click()
        expect(page.locator(".feedback-box")).to_be_visible()
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        page.emulate_media(media="print")
        expect(page.locator("#chat-sidebar")).to_be_hidden()
        expect(page.locator("#print-title")).to_be_visible()
        expect(page.locator("#print-date")).to_contain_text(re.compile(r"\d{4}"))
        expect(page.locator("#chat-disclosure")).to_be_visible()
        expect(page.locator("#brand-name")).to_be_visible()
        assert page.locator("button:visible, textarea:visible, input:visible").count() == 0
        expect(page.locator(".message.assistant .body table")).to_be_visible()
        width = "desktop" if viewport == DESKTOP else "phone"
        page.screenshot(path=str(screenshot(page, "x").parent / f"print-{width}-{scheme}-{lang}.png"),
                        full_page=True, animations="disabled")
        context.close()


def test_in_a_room_the_export_names_each_author(chromium, site_with):
    import time

    import jwt

    from tests.test_rooms_dashboard import SECRET

    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN="dashboard-token-not-used-in-this-test",
                     SUPABASE_JWT_SECRET=SECRET)
    store = store_of(site)
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    room = str(uuid.uuid4())
    store.create_room(alice, room, "Épargne de la famille", "Alice Martin")
    invite = uuid.uuid4().hex
    store.create_invite(alice, room, "Alice Martin", invite, "2999-01-01T00:00:00+00:00", reusable=True)
    store.accept_invite(invite, bob, "Bob Durand")
    store.record_room_turn(alice, room, alice, "Alice Martin", "Bonjour à tous", None)
    store.record_room_turn(alice, room, bob, "Bob Durand", "@assistant le taux ?", "Le taux est de 3 %.")
    context = new_context(chromium)
    page = context.new_page()
    token = jwt.encode({"sub": alice, "aud": "authenticated", "exp": int(time.time()) + 600,
                        "user_metadata": {"full_name": "Alice Martin"}}, SECRET, algorithm="HS256")
    page.add_init_script(f"localStorage.setItem('dashboard.conversationId', '{room}')")
    open_dashboard(page, site)
    page.locator("#sign-in-button").click()
    page.locator("#auth-token").fill(token)
    page.locator("#token-dialog").get_by_role("button", name="Se connecter").click()
    expect(page.locator("#conversation-title")).to_have_text("Épargne de la famille")
    expect(page.locator("#conversation-head #conversation-tools")).to_be_visible()
    _, content = download_markdown(page)
    assert content.startswith("# Épargne de la famille")
    assert re.findall(r"^\*\*(.+?)\*\* — ", content, re.M) == ["Vous", "Bob Durand", "Assistant"]
    context.close()


# --- axe in every chat state ------------------------------------------------------------------------------------

def serious(page, state: str) -> list:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [(state, v["id"], [n["target"] for n in v["nodes"]]) for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_axe_finds_no_serious_violation_in_any_chat_state(chromium, site_with, fake_openai, scheme, width):
    import time

    import jwt

    from tests.browser_fixtures import show_conversations
    from tests.test_rooms_dashboard import SECRET

    site = site_with(ALLOW_ANONYMOUS="0", DASHBOARD_TOKEN="dashboard-token-not-used-in-this-test",
                     SUPABASE_JWT_SECRET=SECRET)
    store, alice, bob, room = store_of(site), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    store.create_room(alice, room, "Épargne de la famille", "Alice Martin")
    invite = uuid.uuid4().hex
    store.create_invite(alice, room, "Alice Martin", invite, "2999-01-01T00:00:00+00:00", reusable=True)
    store.accept_invite(invite, bob, "Bob Durand")
    store.record_room_turn(alice, room, bob, "Bob Durand", "@assistant le taux ?", "Le taux est de **3 %**.")
    token = jwt.encode({"sub": alice, "aud": "authenticated", "exp": int(time.time()) + 600,
                        "user_metadata": {"full_name": "Alice Martin"}}, SECRET, algorithm="HS256")
    page = new_context(chromium, DESKTOP if width == "desktop" else PHONE, "fr", scheme).new_page()
    page.phone = width == "phone"
    found = []
    open_dashboard(page, site)
    page.locator("#sign-in-button").click()
    page.locator("#auth-token").fill(token)
    page.locator("#token-dialog").get_by_role("button", name="Se connecter").click()
    expect(page.locator("#auth-area")).to_have_attribute("data-state", "signed-in")
    if page.locator("#conversation-head").is_visible():  # the room opened as the latest conversation: start anew
        page.locator("#chat-new-top" if page.phone else "#chat-new").click()
    expect(page.locator("#chat-log .empty")).to_be_visible()
    found += serious(page, "the empty first screen")

    converse(page)
    found += serious(page, "a conversation with a table and code")
    thumbs(page)[1].click()
    expect(page.locator(".feedback-box textarea")).to_be_focused()
    found += serious(page, "the feedback box")
    screenshot(page, f"feedback-box-{width}-{scheme}-fr")
    page.locator("#export-button").click()
    expect(page.locator("#export-menu")).to_be_visible()
    found += serious(page, "the export menu")
    screenshot(page, f"export-menu-{width}-{scheme}-fr")
    page.keyboard.press("Escape")
    expect(page.locator("#export-menu")).to_be_hidden()

    fake_openai.gate = threading.Event()  # the reply is held at its first word
    send(page, "Encore une question")
    expect(page.locator("#chat-stop")).to_be_visible()
    expect(page.locator(".message.assistant").last).to_have_attribute("data-state", "writing")
    found += serious(page, "a reply streaming")
    fake_openai.gate.set()
    reply_done(page, re.compile("Echo: Encore une question"))
    fake_openai.fail_next("quota")
    send(page, "Et maintenant ?")
    expect(page.locator("#chat-error")).to_be_visible()
    found += serious(page, "an error")

    mine = show_conversations(page).locator("li[data-id]").filter(has_text="Taux")
    mine.get_by_role("button").nth(1).click()
    expect(page.locator("#rename-dialog")).to_be_visible()
    found += serious(page, "the rename dialog")
    page.keyboard.press("Escape")
    expect(page.locator("#rename-dialog")).to_be_hidden()
    show_conversations(page).locator("li[data-id]").filter(has_text="Taux").get_by_role("button").last.click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    found += serious(page, "the delete dialog")
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_be_hidden()

    show_conversations(page).locator("li[data-id]").filter(has_text="Épargne de la famille").locator(".open").click()
    expect(page.locator("#conversation-title")).to_have_text("Épargne de la famille")
    expect(page.locator(".message.other")).to_be_visible()
    found += serious(page, "a room")
    screenshot(page, f"room-export-{width}-{scheme}-fr")
    page.context.close()
    assert not found, found


@pytest.mark.parametrize("lang, scheme", [("fr", "light"), ("en", "dark")])
def test_an_admin_reads_the_feedback_and_downloads_it(chromium, site_with, lang, scheme):
    from tests.helpers import call

    site = site_with(ALLOW_ANONYMOUS=None, DASHBOARD_TOKENS="Claire:claire-token-0123456789,Paul:paul-token-0123456789",
                     ADMIN_TOKEN_NAMES="Claire")
    port, paul = site.server.server_port, {"Authorization": "Bearer paul-token-0123456789"}
    conversation = call(port, "POST", "/api/groupchat/chat", {"message": "Le taux ?"}, paul).json()["conversationId"]
    read = call(port, "GET", f"/api/groupchat/chat?conversationId={conversation}", headers=paul).json()
    reply = [m["id"] for m in read["messages"] if m["role"] == "assistant"][-1]
    saved = call(port, "POST", "/api/groupchat/feedback", {"conversationId": conversation, "messageId": reply,
                                                           "rating": "down", "comment": "Chiffre périmé"}, paul)
    assert saved.status == 200, saved.text
    context = new_context(chromium, DESKTOP, lang, scheme)
    context.add_init_script("localStorage.setItem('dashboard.token', 'claire-token-0123456789')")
    page = context.new_page()
    page.goto(site.url + "admin.html")
    page.locator("body[data-ready=true]").wait_for()
    row = page.locator("#feedback-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-rating", "down")
    expect(row.locator("td").nth(2)).to_have_text("Chiffre périmé")
    expect(row.locator("td").nth(3)).to_have_text("Paul")
    with page.expect_download() as csv:
        page.locator("#feedback-csv").click()
    lines = open(csv.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "at,rating,comment,name,user_id,conversation_id,message_id" and ",down,Chiffre périmé,Paul," in lines[1]
    page.locator("#admin-feedback").scroll_into_view_if_needed()
    screenshot(page, f"admin-feedback-{scheme}-{lang}")
    assert not serious(page, "the admin page")
    context.close()
