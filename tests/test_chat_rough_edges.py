"""The rough edges a client notices (issue 27): rename by Enter, wide tables, focus, the phone's menu, an empty
Send, a misconfigured server, and the first screen's words."""

import os
import re
import subprocess
import sys

import pytest

from tests.browser import DESKTOP, PHONE, open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, last_reply, new_context, page, reply_done, send, show_conversations, site, site_with, text, view,
)
from tests.helpers import ROOT
from tests.test_dashboard_look import serious_violations

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

WIDE = ("Frais :\n\n| Produit | Frais d'entrée | Frais de gestion | Frais d'arbitrage | Délai de versement | "
        "Délai de rachat | Fiscalité après 8 ans |\n|---|---:|---:|---:|---|---|---|\n"
        "| Assurance vie | 0 % à 3 % | 0,5 % à 1 % par an | 0 % à 1 % | 48 h à 2 mois | 48 h à 2 mois | "
        "abattement de 4 600 € |\n\n# Titre\n\n### Sous-titre")


def test_enter_in_the_rename_dialog_renames(view, site):
    open_dashboard(view, site)
    send(view, "Budget 2027")
    reply_done(view, "Echo: Budget 2027")
    items = show_conversations(view)
    view.get_by_role("button", name=text(view, "chat.rename", title="Budget 2027")).click()
    field = view.get_by_role("dialog", name=text(view, "chat.renameTitle")).get_by_label(text(view, "chat.renameLabel"))
    field.fill("Budget familial")
    field.press("Enter")
    expect(view.locator("#rename-dialog")).to_be_hidden()
    expect(show_conversations(view).locator(".open .title")).to_have_text(["Budget familial"])
    assert items  # the same list, drawn again


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_wide_table_says_it_scrolls_and_scrolls_by_keyboard(chromium, site, scheme, width):
    context = new_context(chromium, DESKTOP if width == "desktop" else PHONE, "fr", scheme)
    page = context.new_page()
    open_dashboard(page, site)
    send(page, WIDE)
    expect(last_reply(page)).to_have_attribute("data-state", "done")
    wrap = last_reply(page).locator(".table-wrap")
    expect(wrap).to_have_attribute("tabindex", "0")
    expect(wrap).to_have_accessible_name(text(page, "chat.tableLabel"))
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth"), "the table is wider than its box"
    assert "local" in wrap.evaluate("w => getComputedStyle(w).backgroundAttachment")  # the edge's shadow moves
    wrap.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.message.assistant .table-wrap').scrollLeft > 0")
    assert [h.evaluate("h => h.tagName") for h in last_reply(page).locator("h3, h4, h5, h6").all()] == ["H3", "H4"]
    page.evaluate("() => document.querySelectorAll('.table-wrap').forEach((w) => { w.scrollLeft = 0; })")
    screenshot(page, f"wide-table-{scheme}-{width}-fr")
    assert not serious_violations(page)
    from axe_playwright_python.sync_playwright import Axe

    assert "heading-order" not in [v["id"] for v in Axe().run(page).response["violations"]]
    context.close()


def test_focus_stays_with_the_reader_through_regenerate_and_opening(view, site):
    open_dashboard(view, site)
    send(view, "Premier")
    reply_done(view, "Echo: Premier")
    last_reply(view).locator(".regenerate").click()
    reply_done(view, "Echo: Premier")
    expect(last_reply(view).locator(".regenerate")).to_be_focused()
    view.get_by_role("button", name=text(view, "chat.new")).last.click()
    show_conversations(view).locator(".open").first.click()
    expect(view.locator(".message")).to_have_count(2)
    expect(view.locator("#chat-log" if view.phone else "#chat-input")).to_be_focused()


def test_the_phone_menu_opens_without_the_keyboard_and_closes_under_a_dialog(chromium, site):
    context = new_context(chromium, PHONE, "fr")
    page = context.new_page()
    open_dashboard(page, site)
    send(page, "Budget")
    reply_done(page, "Echo: Budget")
    page.locator("#drawer-button").click()
    expect(page.locator("#chat-sidebar")).to_be_visible()
    expect(page.locator("#search-input")).not_to_be_focused()
    expect(page.locator("#chat-new")).to_be_focused()
    page.get_by_role("button", name=text(page, "chat.rename", title="Budget")).click()
    expect(page.locator("#rename-dialog")).to_be_visible()
    expect(page.locator("#chat-sidebar")).to_be_hidden()  # not left open behind the dialog
    screenshot(page, "rename-dialog-phone-fr")
    page.keyboard.press("Escape")
    expect(page.locator("#rename-dialog")).to_be_hidden()
    expect(page.locator("#drawer-button")).to_be_focused()  # not a button of the closed drawer
    context.close()


def test_an_empty_send_shows_no_browser_bubble(view, site):
    open_dashboard(view, site)
    view.locator("#chat-input").fill("   ")
    view.locator("#chat-send").click()
    expect(view.locator("#chat-input")).to_be_focused()
    assert view.locator("#chat-input").evaluate("i => i.validationMessage") == ""
    expect(view.locator(".message")).to_have_count(0)
    expect(view.locator(".empty")).to_be_visible()


def test_a_misconfigured_server_says_so_in_the_pages_words_with_the_ai_notice(view, site_with):
    site = site_with(DASHBOARD_TOKENS="Camille:short")
    view.goto(site.url)
    expect(view.locator("body[data-ready=failed]")).to_have_count(1)
    expect(view.locator("#global-error")).to_have_text(text(view, "error.misconfigured"))
    expect(view.locator("#chat-disclosure")).to_contain_text(text(view, "notice.ai"))
    expect(view.locator("#chat-input")).to_be_disabled()
    expect(view.locator("#voice-button")).to_be_hidden()
    screenshot(view, f"misconfigured-{view.name}")


def test_the_dev_server_names_a_refused_setting_when_it_starts(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "ALLOW_"))}
    environment.update(HISTORY_DB=str(tmp_path / "history.sqlite3"), DASHBOARD_TOKENS="Camille:short")
    process = subprocess.Popen([sys.executable, "-m", "dev.server", "--port", "0"], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("Dev server on")  # it serves (the page says what is wrong)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    line = errors.splitlines()[0] if errors else ""
    assert line.startswith("The service is misconfigured: Server setting DASHBOARD_TOKENS has a token for 'Camille'")


def test_the_first_screen_promises_nothing_about_accounts_by_default(view, site):
    open_dashboard(view, site)
    subtitle = view.locator(".empty p").first
    expect(subtitle).to_have_text(text(view, "chat.empty"))
    expect(subtitle).not_to_have_text(re.compile("compte|account", re.I))
    expect(view.locator(".suggestions button")).to_have_count(3)


def test_the_first_screens_words_are_settings(view, site_with):
    site = site_with(DASHBOARD_SUBTITLE_FR="Questions générales sur l'épargne.",
                     DASHBOARD_SUBTITLE_EN="General questions about savings.",
                     DASHBOARD_EXAMPLES_FR="Qu'est-ce qu'un PER ? | Comment fonctionne un livret ?",
                     DASHBOARD_EXAMPLES_EN="What is a PER? | How does a savings account work?")
    open_dashboard(view, site)
    french = view.lang == "fr"
    expect(view.locator(".empty p").first).to_have_text(
        "Questions générales sur l'épargne." if french else "General questions about savings.")
    questions = ["Qu'est-ce qu'un PER ?", "Comment fonctionne un livret ?"] if french else [
        "What is a PER?", "How does a savings account work?"]
    expect(view.locator(".suggestions button")).to_have_text(questions)
    view.locator(".suggestions button").first.click()
    reply_done(view, f"Echo: {questions[0]}")
    if not view.phone and french:
        view.get_by_role("button", name=text(view, "chat.new")).last.click()
        view.locator("#lang-button").click()
        expect(view.locator(".empty p").first).to_have_text("General questions about savings.")


def test_the_list_has_readable_titles_under_date_groups_and_tools_on_hover(view, site, tmp_path):
    import sqlite3
    from datetime import datetime, timedelta, timezone

    open_dashboard(view, site)
    questions = ["| Produit | Taux |\n|---|---|\n| **Livret A** | 3 % |", "Hier soir", "La semaine passée",
                 "Le mois passé", "Il y a longtemps"]
    for question in questions:
        view.get_by_role("button", name=text(view, "chat.new")).last.click()
        send(view, question)
        expect(last_reply(view)).to_have_attribute("data-state", "done")
    now = datetime.now(timezone.utc)
    with sqlite3.connect(tmp_path / "history.sqlite3") as db:  # age four of them as if written days ago
        for title, days in (("Hier soir", 1), ("La semaine passée", 5), ("Le mois passé", 20), ("Il y a longtemps", 90)):
            when = (now.replace(hour=12) - timedelta(days=days)).isoformat(timespec="microseconds")
            db.execute("update conversations set updated_at = ? where title = ?", (when, title))
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    items = show_conversations(view)
    expect(items.locator(".open .title")).to_have_text(
        ["Produit Taux Livret A 3 %", "Hier soir", "La semaine passée", "Le mois passé", "Il y a longtemps"])
    groups = items.locator(".day h2")
    expect(groups).to_have_count(5)
    expect(groups.nth(0)).to_have_text(text(view, "list.today"))
    expect(groups.nth(1)).to_have_text(text(view, "list.yesterday"))
    expect(groups.nth(2)).to_have_text(text(view, "list.week"))
    expect(groups.nth(3)).to_have_text(text(view, "list.month"))
    expect(groups.nth(4)).to_have_text(re.compile(r"\d{4}$"))
    row = items.locator("li[data-id]").nth(1)
    rename = row.get_by_role("button", name=text(view, "chat.rename", title="Hier soir"))
    if not view.phone:  # a pointer: the tools come on hover and focus, and leave the title its width
        assert rename.evaluate("b => getComputedStyle(b).opacity") == "0"
        title_width = row.locator(".title").evaluate("t => t.getBoundingClientRect().width")
        assert title_width > row.evaluate("r => r.getBoundingClientRect().width") * 0.6
        rename.focus()
        expect(rename).to_have_css("opacity", "1")
    else:
        expect(rename).to_be_visible()
    screenshot(view, f"list-groups-{view.name}")


def test_a_printed_conversation_is_a_clean_record(page, site):
    open_dashboard(page, site)
    send(page, WIDE)
    expect(last_reply(page)).to_have_attribute("data-state", "done")
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    for hidden in ("#chat-sidebar", "#chat-form", "#voice-button", ".message .actions >> nth=0", "#lang-button"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#brand-name")).to_be_visible()
    expect(page.locator("#chat-disclosure")).to_be_visible()
    expect(page.locator("#print-date")).to_be_visible()
    expect(page.locator("#print-date")).to_contain_text(str(__import__("datetime").date.today().year))
    expect(page.locator(".message")).to_have_count(2)
    screenshot(page, "print-desktop-fr")


def test_on_a_phone_the_brand_is_whole_and_the_voice_state_clears_the_voice_panel(chromium, site):
    context = new_context(chromium, PHONE, "fr")
    page = context.new_page()
    open_dashboard(page, site)
    name = page.locator("#brand-name")
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth && n.scrollHeight <= n.clientHeight"), "the name is cut"
    page.evaluate("""() => {  // the state a call shows (the voice tests drive a real call; here only the layout)
        const status = document.getElementById("voice-status");
        status.dataset.state = "listening";
        status.textContent = "À l'écoute…";
        document.getElementById("voice-panel").hidden = false;
    }""")
    status, panel = page.locator("#voice-status").bounding_box(), page.locator("#voice-panel").bounding_box()
    assert status["y"] + status["height"] <= panel["y"], (status, panel)
    screenshot(page, "voice-state-phone-fr")
    context.close()
