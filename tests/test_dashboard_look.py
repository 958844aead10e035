"""How the dashboard looks and is used: brand, notices, the group room launcher, light and dark themes, axe,
keyboard, and a screenshot of each screen (test-artifacts/screenshots/)."""

import re

import pytest

from tests.browser import DESKTOP, PHONE, open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    ROOM, context, new_context, page, reply_done, send, site, site_with, text, view,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

LOGO = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='6' fill='%230a5c36'/%3E%3C/svg%3E"


def test_the_brand_comes_from_the_settings(page, site_with):
    site = site_with(BRAND_NAME="Banque Exemple", BRAND_LOGO_URL=LOGO, BRAND_ACCENT_COLOR="#0A5C36",
                     AI_DISCLOSURE_FR="Vous échangez avec l'IA de la Banque Exemple.",
                     ADVICE_NOTICE_FR="Ceci n'est pas un conseil en investissement (art. L. 321-1 CMF).")
    open_dashboard(page, site)
    expect(page.locator("#brand-name")).to_have_text("Banque Exemple")
    expect(page).to_have_title("Banque Exemple — Assistant")
    expect(page.locator("#brand-logo")).to_be_visible()
    expect(page.locator("#brand-logo")).to_have_attribute("alt", "")  # the name beside it says it
    assert page.locator("#chat-send").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(10, 92, 54)"
    expect(page.locator("#chat-disclosure")).to_have_text(
        "Vous échangez avec l'IA de la Banque Exemple. Ceci n'est pas un conseil en investissement (art. L. 321-1 CMF).")
    page.get_by_role("button", name="Switch to English").click()  # no English text set: the page's own
    expect(page.locator("#chat-disclosure")).to_contain_text("artificial intelligence")
    expect(page.locator("#brand-name")).to_have_text("Banque Exemple")
    screenshot(page, "brand-desktop-en")


def test_the_ai_and_advice_notices_are_on_the_chat(view, site):
    open_dashboard(view, site)
    disclosure = view.locator("#chat-disclosure")
    expect(disclosure).to_be_visible()
    expect(disclosure).to_contain_text(text(view, "notice.ai"))
    expect(disclosure).to_contain_text(text(view, "notice.advice"))
    expect(disclosure).to_be_in_viewport()


def test_the_page_says_identifiers_are_masked_only_when_they_are(page, site_with):
    open_dashboard(page, site_with())
    expect(page.locator("#masking-notice")).to_have_text(text(page, "notice.masking"))
    open_dashboard(page, site_with(MASK_IDENTIFIERS="none"))
    expect(page.locator("#masking-notice")).to_be_hidden()


# --- the group room launcher: available, not the first screen -------------------------------------------------

def open_group(page):
    page.get_by_role("button", name=text(page, "group.button")).click()
    return page.get_by_role("dialog", name=text(page, "group.heading"))


def test_the_group_link_comes_from_the_server_setting(view, site):
    open_dashboard(view, site)
    if view.phone:
        view.locator("#drawer-button").click()
    dialog = open_group(view)
    expect(dialog.get_by_label(text(view, "group.label"))).to_have_value(ROOM)
    expect(dialog).to_contain_text(text(view, "group.why"))
    assert "API" not in dialog.inner_text()  # no developer note for a client
    screenshot(view, f"group-{view.name}")


def test_a_link_that_is_not_chatgpt_is_refused(page, site):
    open_dashboard(page, site)
    dialog = open_group(page)
    field = dialog.get_by_label("Lien du salon")
    for bad in ("https://evil.example/gg/x", "http://chatgpt.com/gg/x", "javascript:alert(1)"):
        field.fill(bad)
        dialog.get_by_role("button", name="Enregistrer").click()
        expect(page.locator("#group-message")).to_have_text(re.compile("seuls les liens https://chatgpt.com"))
        expect(field).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("localStorage.getItem('dashboard.groupchatUrl')") is None


def test_a_changed_link_is_kept_on_this_device(page, site):
    open_dashboard(page, site)
    dialog = open_group(page)
    dialog.get_by_label("Lien du salon").fill("https://chatgpt.com/gg/another-room")
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#group-message")).to_have_text("Lien enregistré sur cet appareil.")
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    dialog = open_group(page)
    expect(dialog.get_by_label("Lien du salon")).to_have_value("https://chatgpt.com/gg/another-room")
    dialog.get_by_role("button", name="Lien par défaut").click()
    expect(dialog.get_by_label("Lien du salon")).to_have_value(ROOM)


def test_open_uses_a_new_tab_without_opener(page, site, context):
    open_dashboard(page, site)
    dialog = open_group(page)
    with context.expect_page() as opened:
        dialog.get_by_role("button", name="Ouvrir le salon").click()
    room = opened.value
    room.wait_for_load_state()
    assert room.url == ROOM
    assert room.evaluate("window.opener") is None


def test_copy_puts_the_link_on_the_clipboard(page, site, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    open_group(page).get_by_role("button", name="Copier le lien").click()
    expect(page.locator("#group-message")).to_have_text("Lien copié dans le presse-papiers.")
    assert page.evaluate("navigator.clipboard.readText()") == ROOM


# --- themes, accessibility, keyboard ----------------------------------------------------------------------------

def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_no_serious_accessibility_violations_in_either_theme(chromium, site, fake_openai, scheme, width):
    context = new_context(chromium, DESKTOP if width == "desktop" else PHONE, "fr", scheme)
    page = context.new_page()
    open_dashboard(page, site)
    assert not serious_violations(page), "empty chat"
    send(page, "Taux :\n\n| Produit | Taux |\n|---|---:|\n| Livret A | 3 % |\n\n[lien](https://example.com) `code`")
    reply_done(page, re.compile("Echo: Taux"))
    fake_openai.fail_next("quota")
    send(page, "Encore")
    expect(page.locator("#chat-error")).to_be_visible()
    assert not serious_violations(page), "a conversation and an error"
    screenshot(page, f"theme-{scheme}-{width}-fr")
    if width == "phone":
        page.locator("#drawer-button").click()
        expect(page.locator("#chat-sidebar")).to_be_visible()
        assert not serious_violations(page), "the drawer"
        page.keyboard.press("Escape")
    if width == "desktop":
        page.locator("#conversation-list li[data-id]").first.get_by_role("button").last.click()
        expect(page.locator("#confirm-dialog")).to_be_visible()
        assert not serious_violations(page), "the delete dialog"
        screenshot(page, f"theme-{scheme}-{width}-fr-dialog")
    context.close()


def test_the_chat_works_from_the_keyboard(page, site):
    open_dashboard(page, site)
    page.locator("#chat-input").focus()
    page.keyboard.type("Bonjour")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("deuxième ligne")
    expect(page.locator("#chat-input")).to_have_value("Bonjour\ndeuxième ligne")
    page.keyboard.press("Enter")
    reply_done(page, re.compile("Echo: Bonjour"))
    expect(page.locator("#chat-input")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#chat-send")).to_be_focused()


def test_on_a_touch_screen_enter_makes_a_new_line(chromium, site):
    context = new_context(chromium, PHONE)
    page = context.new_page()
    open_dashboard(page, site)
    expect(page.locator("#composer-hint")).to_be_hidden()  # no keyboard-shortcut talk on a touch keyboard
    page.locator("#chat-input").fill("Bonjour")
    page.locator("#chat-input").press("Enter")
    expect(page.locator("#chat-input")).to_have_value("Bonjour\n")
    expect(page.locator(".message")).to_have_count(0)
    send_box = page.locator("#chat-send").bounding_box()
    assert send_box["width"] >= 44 and send_box["height"] >= 44
    context.close()


@pytest.mark.parametrize("name", ["desktop-fr", "desktop-en", "phone-fr", "phone-en"])
def test_nothing_scrolls_sideways_and_the_header_is_one_row(chromium, site, name):
    viewport, lang = (DESKTOP if name.startswith("desktop") else PHONE), name[-2:]
    context = new_context(chromium, viewport, lang)
    page = context.new_page()
    open_dashboard(page, site)
    screenshot(page, f"empty-{name}")
    send(page, "Résume mes dépenses du **mois** :\n- loyer\n- courses")
    expect(page.locator(".message.assistant li")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.locator(".topbar").bounding_box()["height"] <= 64
    screenshot(page, f"chat-{name}")
    context.close()
