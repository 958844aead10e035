"""The admin page in Chromium: an admin sees usage and the audit trail and downloads them; anyone else is told the
page is for admins; the client's export and erase buttons (public/js/my-data.js) download and erase."""

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot
from tests.browser_fixtures import new_context, site_with, text, watched  # noqa: F401 - site_with: a fixture
from tests.helpers import call

TOKENS = "Claire:claire-token-0123456789,Paul:paul-token-0123456789"


@pytest.fixture
def firm(site_with):
    return site_with(ALLOW_ANONYMOUS=None, DASHBOARD_TOKENS=TOKENS, ADMIN_TOKEN_NAMES="Claire",
                     USAGE_PRICES_USD="gpt-5.5:2/8", USAGE_EUR_PER_USD="0.9")


def signed_in(chromium, token: str, lang: str = "fr"):
    context = new_context(chromium, lang=lang)
    context.add_init_script(f"localStorage.setItem('dashboard.token', '{token}')")
    return context, watched(context.new_page())


def chat_as(firm, token: str, message: str):
    port = int(firm.url.rsplit(":", 1)[1].strip("/"))
    reply = call(port, "POST", "/api/groupchat/chat", {"message": message}, {"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply.text
    return reply.json()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_admin_reads_usage_and_the_trail_and_downloads_them(chromium, firm, lang):
    chat_as(firm, "paul-token-0123456789", "Bonjour")
    chat_as(firm, "paul-token-0123456789", "Et encore")
    context, page = signed_in(chromium, "claire-token-0123456789", lang)
    page.goto(firm.url + "admin.html")
    page.locator("body[data-ready=true]").wait_for()
    today = page.locator("#usage-today")
    expect(today.locator("tbody tr")).to_have_count(1)
    expect(today.locator("tbody tr td").first).to_have_text("Paul")
    expect(today.locator("tbody tr td").nth(1)).to_have_text("2")
    expect(page.locator("#usage-ceilings li")).to_have_count(3)
    expect(page.locator("#audit-table tbody tr").first).to_have_attribute("data-kind", "admin_read")
    with page.expect_download() as csv:
        page.locator("#usage-csv").click()
    lines = open(csv.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0].startswith("name,userId,messages") and lines[1].startswith("Paul,") and lines[-1].startswith("Total,")
    page.locator("#audit-kind").select_option("admin_read")
    page.locator("#audit-form button[type=submit]").click()
    expect(page.locator("#audit-table tbody tr[data-kind=admin_read]").first).to_be_visible()
    with page.expect_download() as trail:
        page.locator("#audit-csv").click()
    assert open(trail.value.path(), encoding="utf-8-sig").readline().startswith("id,at,kind,actor,target,detail")
    screenshot(page, f"admin-{lang}")
    assert not page.errors, page.errors
    context.close()


def test_anyone_else_is_told_the_page_is_for_admins(chromium, firm):
    context, page = signed_in(chromium, "paul-token-0123456789")
    page.goto(firm.url + "admin.html")
    page.locator("body[data-ready=true]").wait_for()
    expect(page.locator("#admin-denied")).to_have_text(text(page, "admin.denied"))
    expect(page.locator("#admin-usage")).to_be_hidden()
    expect(page.locator("#admin-audit")).to_be_hidden()
    assert not page.errors, page.errors
    context.close()


def test_export_downloads_a_zip_and_erase_asks_first_then_erases(chromium, firm):
    conversation = chat_as(firm, "paul-token-0123456789", "Mon secret")["conversationId"]
    context, page = signed_in(chromium, "paul-token-0123456789")
    page.goto(firm.url + "admin.html")
    page.locator("body[data-ready=true]").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger mes données").click()
    assert download.value.suggested_filename == "mes-donnees.zip"
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as bundle:
        data = json.loads(bundle.read("mes-donnees.json"))
    assert [c["id"] for c in data["conversations"]] == [conversation]
    expect(page.locator("#my-data-status")).to_have_text(text(page, "myData.exported"))

    page.get_by_role("button", name="Supprimer toutes mes données").click()
    dialog = page.locator("#my-data-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(text(page, "myData.confirmStays"))
    screenshot(page, "my-data-confirm-fr")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    port = int(firm.url.rsplit(":", 1)[1].strip("/"))
    paul = {"Authorization": "Bearer paul-token-0123456789"}
    assert len(call(port, "GET", "/api/groupchat/chat", headers=paul).json()["conversations"]) == 1  # cancelled

    page.get_by_role("button", name="Supprimer toutes mes données").click()
    dialog.get_by_role("button", name="Tout supprimer").click()
    expect(page.locator("#my-data-status")).to_have_text(
        text(page, "myData.erased", conversations=1, messages=0))  # no room: nothing elsewhere
    assert call(port, "GET", "/api/groupchat/chat", headers=paul).json()["conversations"] == []
    assert not page.errors, page.errors
    context.close()
