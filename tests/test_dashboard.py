"""The chat, the dashboard's home screen, in a real Chromium: laptop and phone, French and English."""

import json
import re
import threading

import pytest

from tests.browser import open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    context, last_reply, page, reply_done, send, site, site_with, text, view,
)
from tests.helpers import ROOT, freeze_limit_clock

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


def test_the_chat_is_the_first_screen_with_a_pinned_composer(view, site):
    open_dashboard(view, site)
    expect(view.locator("#chat-input")).to_be_visible()
    expect(view.locator("#chat-input")).to_be_in_viewport()
    expect(view.locator(".empty h3")).to_have_text(text(view, "chat.emptyTitle"))
    expect(view.locator("#group-dialog")).not_to_be_visible()
    for index in range(12):  # a long conversation scrolls inside the log; the composer stays on screen
        send(view, f"Question {index}\n" + "ligne\n" * 6)
        reply_done(view, re.compile(f"Echo: Question {index}"))
    expect(view.locator("#chat-send")).to_be_in_viewport()
    assert view.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
    box = view.locator(".composer").bounding_box()
    assert box["y"] + box["height"] <= view.viewport_size["height"]
    screenshot(view, f"chat-long-{view.name}")


def test_an_example_question_is_sent_in_one_click(view, site):
    open_dashboard(view, site)
    view.get_by_role("button", name=text(view, "chat.suggest2")).click()
    reply_done(view, "Echo: " + text(view, "chat.suggest2"))
    expect(view.locator(".empty")).to_have_count(0)


def test_a_streamed_reply_with_stop(view, site, fake_openai):
    open_dashboard(view, site)
    fake_openai.gate = threading.Event()  # hold the stream after its first chunk
    send(view, "Quel est le **solde** ?")
    expect(last_reply(view).locator(".body")).to_have_text("Echo:")
    expect(view.locator("#chat-stop")).to_be_visible()
    expect(view.locator("#chat-stop")).to_have_attribute("aria-label", text(view, "chat.stop"))
    fake_openai.gate.set()
    reply_done(view, "Echo: Quel est le solde ?")
    expect(last_reply(view).locator("strong")).to_have_text("solde")
    expect(view.locator("#chat-send")).to_be_visible()
    expect(last_reply(view).locator(".who")).to_have_text(text(view, "chat.assistant"))
    expect(view.locator(".message.user .who")).to_have_text(text(view, "chat.you"))
    expect(last_reply(view).locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))


def test_stop_keeps_what_arrived_and_says_so_in_full(view, site, fake_openai):
    open_dashboard(view, site)
    fake_openai.gate = threading.Event()
    send(view, " ".join(["mot"] * 1500))
    expect(last_reply(view).locator(".body")).to_have_text("Echo:")
    view.locator("#chat-stop").click()
    note = last_reply(view).locator(".note")
    expect(note).to_have_text(text(view, "chat.stopped"))
    assert note.evaluate("n => n.scrollWidth <= n.clientWidth && n.getBoundingClientRect().height > 10")
    fake_openai.gate.set()
    assert fake_openai.stream_aborted.wait(10)
    expect(view.locator("#chat-send")).to_be_visible()
    fake_openai.gate = None


def test_an_error_in_the_pages_words_and_the_message_kept(view, site, fake_openai):
    open_dashboard(view, site)
    fake_openai.fail_next("quota")
    send(view, "Mon message important")
    expect(view.locator("#chat-error")).to_have_text(text(view, "error.upstream_quota"))
    expect(view.locator("#chat-input")).to_have_value("Mon message important")
    expect(view.locator(".message")).to_have_count(0)
    expect(view.locator(".empty h3")).to_be_visible()  # the empty state survives a failed first send
    screenshot(view, f"chat-error-{view.name}")


def test_the_server_english_and_setting_names_never_show(page, site_with):
    site = site_with(OPENAI_API_KEY=None)  # the server answers 503 openai_not_configured, naming OPENAI_API_KEY
    open_dashboard(page, site)
    send(page, "Bonjour")
    expect(page.locator("#chat-error")).to_have_text(
        "L'assistant n'est pas encore activé sur ce service. Prévenez votre contact technique.")
    shown = page.locator("body").inner_text()
    for leak in ("OPENAI_API_KEY", "not set", "configured", "The ", "DASHBOARD_TOKEN"):
        assert leak not in shown


def test_a_cut_stream_is_explained(page, site, fake_openai):
    open_dashboard(page, site)
    fake_openai.fail_next("cut")
    send(page, "un deux trois quatre cinq six sept")
    expect(page.locator("#chat-error")).to_have_text("La réponse a été coupée avant la fin. Réessayez.")
    expect(page.locator("#chat-input")).to_have_value("un deux trois quatre cinq six sept")


def test_a_rate_limit_counts_down_with_send_disabled(view, site_with, env):
    site = site_with(CHAT_RATE_LIMIT_PER_MINUTE="1")
    open_dashboard(view, site)
    freeze_limit_clock(env)
    send(view, "premier")
    reply_done(view, "Echo: premier")
    send(view, "second")
    error = view.locator("#chat-error")
    expect(error).to_have_text(re.compile(r"\d+ s"))
    expect(view.locator("#chat-send")).to_be_disabled()
    first = int(re.search(r"(\d+) s", error.inner_text()).group(1))
    lower = "|".join(str(n) for n in range(first))
    expect(error).to_have_text(re.compile(rf"(?<!\d)({lower}) s"), timeout=10_000)  # it counts down, live
    assert error.inner_text().startswith(text(view, "error.rate_limited.chat:minute", seconds=0).split("0")[0])
    if view.lang == "fr":
        expect(error).to_have_text(re.compile(r"Réessayez dans \d+ s\.$"))  # says when to retry
    expect(view.locator("#chat-input")).to_have_value("second")
    screenshot(view, f"chat-rate-limited-{view.name}")


def test_a_hostile_reply_stays_text(page, site):
    open_dashboard(page, site)
    hostile = '<img src=x onerror="window.pwned=1"> [clic](javascript:window.pwned=2) <b>gras</b>'
    send(page, hostile)
    expect(last_reply(page).locator(".body")).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert page.locator("#chat-log img, #chat-log b, #chat-log a[href^=javascript]").count() == 0
    assert page.evaluate("window.pwned") is None


def test_markdown_tables_are_rendered(view, site):
    open_dashboard(view, site)
    send(view, "Taux :\n\n| Produit | Taux |\n|---|---:|\n| Livret A | 3 % |\n| PEL | 2,25 % |")
    table = last_reply(view).locator("table")
    expect(table.locator("th")).to_have_text(["Produit", "Taux"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody td").nth(1)).to_have_attribute("data-align", "right")
    assert "|" not in last_reply(view).locator(".body").inner_text()
    overflow = view.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(view, f"chat-table-{view.name}")


def test_copy_puts_the_reply_on_the_clipboard(context, page, site):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url.rstrip("/"))
    open_dashboard(page, site)
    send(page, "Le **total** est 12")
    reply_done(page, "Echo: Le total est 12")
    last_reply(page).get_by_role("button", name="Copier").click()
    expect(last_reply(page).get_by_role("button", name="Copié")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "Echo: Le **total** est 12"


def test_regenerate_replaces_the_last_reply_without_repeating_the_question(view, site, fake_openai):
    open_dashboard(view, site)
    send(view, "Premier")
    reply_done(view, "Echo: Premier")
    send(view, "Second")
    reply_done(view, "Echo: Second")
    regenerate = view.locator(".message.assistant .regenerate:visible")
    expect(regenerate).to_have_count(1)  # only on the last reply
    regenerate.click()
    reply_done(view, "Echo: Second")
    assert fake_openai.requests[-1]["body"]["messages"][-1] == {"role": "user", "content": "Second"}
    expect(view.locator(".message")).to_have_count(4)
    view.reload()
    view.locator("body[data-ready=true]").wait_for()
    expect(view.locator(".message .body")).to_have_text(["Premier", "Echo: Premier", "Second", "Echo: Second"])


def test_auto_scroll_stops_when_the_reader_scrolls_up(page, site, fake_openai):
    open_dashboard(page, site)
    for index in range(6):
        send(page, f"Question {index}\n" + "ligne\n" * 8)
        reply_done(page, re.compile(f"Echo: Question {index}"))
    log = page.locator("#chat-log")
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight") < 50  # it followed
    fake_openai.gate = threading.Event()
    send(page, "Encore\n" + "ligne\n" * 30)
    expect(last_reply(page).locator(".body")).to_have_text("Echo:")
    log.evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
    expect(page.locator("#jump-latest")).to_be_visible()
    fake_openai.gate.set()
    reply_done(page, re.compile("Echo: Encore"))
    assert log.evaluate("l => l.scrollTop") == 0  # the reader stays where they were
    page.locator("#jump-latest").click()
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight") < 50
    expect(page.locator("#jump-latest")).to_be_hidden()
    fake_openai.gate = None


def test_the_language_switch_re_renders_everything_including_the_title(page, site, fake_openai):
    open_dashboard(page, site)
    fake_openai.gate = threading.Event()
    send(page, "Premier " + "mot " * 1500)
    expect(last_reply(page).locator(".body")).to_have_text("Echo:")
    page.locator("#chat-stop").click()
    expect(last_reply(page).locator(".note")).to_have_text("Réponse interrompue.")
    fake_openai.gate.set()
    fake_openai.gate = None
    fake_openai.fail_next("quota")
    send(page, "Second")
    expect(page.locator("#chat-error")).to_have_text(re.compile("crédit|suspendu"))
    expect(page).to_have_title("Assistant financier")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("Financial assistant")
    expect(page.locator(".message.user .who")).to_have_text("You")
    expect(last_reply(page).locator(".note")).to_have_text("Reply stopped.")
    expect(page.locator("#chat-error")).to_have_text("The assistant is suspended for now. Tell your technical contact.")
    expect(page.locator("#chat-disclosure")).to_contain_text("artificial intelligence")
    expect(page.get_by_role("button", name="Start the voice assistant")).to_be_visible()
    french = ["Vous", "Réponse", "Envoyer", "Nouvelle conversation", "Rechercher", "Copier", "Régénérer", "Voix",
              "Aujourd'hui", "Assistant financier"]
    shown = page.locator("body").inner_text()
    assert not [word for word in french if word in shown]
    page.reload()
    page.locator("body[data-ready=true]").wait_for()
    expect(page).to_have_title("Financial assistant")
    page.get_by_role("button", name="Passer en français").click()
    expect(page.get_by_role("button", name="Nouvelle conversation")).to_be_visible()


def test_every_error_code_the_api_describes_has_french_and_english_words(page, site):
    spec = json.loads((ROOT / "public" / "openapi.json").read_text())
    codes = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    limits = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["limit"]["enum"]
    open_dashboard(page, site)
    missing = page.evaluate("""async ([codes, limits]) => {
        const { STRINGS } = await import('/js/i18n.js');
        const wanted = [...codes.map((c) => `error.${c}`), ...limits.map((l) => `error.rate_limited.${l}`)];
        return ['fr', 'en'].flatMap((lang) => wanted.filter((key) => !STRINGS[lang][key]).map((key) => `${lang} ${key}`));
    }""", [codes, limits])
    assert not missing


def test_the_system_prompt_field_is_hidden_unless_a_setting_shows_it(page, site_with, fake_openai):
    site = site_with()
    open_dashboard(page, site)
    expect(page.locator("#chat-settings")).to_be_hidden()
    shown = site_with(DASHBOARD_SHOW_SYSTEM_PROMPT="1")
    open_dashboard(page, shown)
    page.get_by_text("Consigne système", exact=True).click()
    page.get_by_label("Consigne système (facultatif)").fill("Réponds en une phrase.")
    send(page, "Bonjour")
    reply_done(page, "Echo: Bonjour")
    assert fake_openai.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "Réponds en une phrase."}
