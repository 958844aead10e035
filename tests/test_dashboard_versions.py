"""Versions and edits in the page (issue 27): Regenerate keeps the earlier reply behind a ‹ 1/3 › switch, a question
is edited inline (Enter or Send asks it, Escape cancels), the choice holds after a reload and the next turn builds on
it; axe finds nothing serious in these states, in both themes at both widths."""

import itertools

import pytest

from dev import fake_openai as stand_in
from tests.browser import DESKTOP, PHONE, open_dashboard, screenshot
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    last_reply, new_context, reply_done, send, site, site_with, text, view, watched,
)
from tests.test_dashboard_look import serious_violations

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(autouse=True)
def numbered(monkeypatch):
    """Each reply of the stand-in numbered (R1, R2...), so that versions of the same question differ."""
    count = itertools.count(1)
    monkeypatch.setattr(stand_in, "reply_for", lambda question: f"R{next(count)}: {question}")


def sent_to_model(fake_openai) -> list[str]:
    return [m["content"] for m in fake_openai.requests[-1]["body"]["messages"]]


def switch_of(message):
    return message.locator(".versions")


def reload(page):
    page.reload()
    page.locator("body[data-ready=true]").wait_for()


def ask_edited(page, question, phone: bool):
    """Ask the question being edited: Enter on a laptop; on a phone (Enter is a new line there) the Send button."""
    if phone:
        question.get_by_role("button", name=text(page, "chat.editSend")).click()
    else:
        question.get_by_role("textbox").press("Enter")


def regenerated_twice(page):
    """Two turns, then the last reply regenerated twice: R2, R3, R4 are its versions, R4 shown."""
    send(page, "Premier")
    reply_done(page, "R1: Premier")
    send(page, "Second")
    reply_done(page, "R2: Second")
    for number in (3, 4):
        last_reply(page).locator(".regenerate").click()
        expect(switch_of(last_reply(page))).to_contain_text(f"{number - 1}/{number - 1}")
        reply_done(page, f"R{number}: Second")


def test_regenerate_keeps_versions_the_switch_holds_after_a_reload_and_the_next_turn_builds_on_it(
        view, site, fake_openai):
    open_dashboard(view, site)
    regenerated_twice(view)
    switch = switch_of(last_reply(view))
    expect(switch).to_contain_text("3/3")
    expect(switch.get_by_role("button", name=text(view, "chat.versionNext"))).to_be_disabled()
    expect(last_reply(view).locator(".regenerate")).to_be_focused()
    previous = switch.get_by_role("button", name=text(view, "chat.versionPrevious"))
    previous.click()
    reply_done(view, "R3: Second")
    switch_of(last_reply(view)).get_by_role("button", name=text(view, "chat.versionPrevious")).click()
    reply_done(view, "R2: Second")
    switch = switch_of(last_reply(view))
    expect(switch).to_contain_text("1/3")
    expect(switch.get_by_role("button", name=text(view, "chat.versionPrevious"))).to_be_disabled()
    expect(switch.get_by_role("button", name=text(view, "chat.versionNext"))).to_be_focused()
    expect(switch).to_contain_text(text(view, "chat.versionOf", index=1, count=3))  # what a screen reader says
    expect(view.locator(".message")).to_have_count(4)
    assert not serious_violations(view)
    screenshot(view, f"versions-switch-{view.name}")

    reload(view)
    expect(view.locator(".message .body")).to_have_text(["Premier", "R1: Premier", "Second", "R2: Second"])
    expect(switch_of(last_reply(view))).to_contain_text("1/3")

    send(view, "Troisième")
    reply_done(view, "R5: Troisième")
    assert sent_to_model(fake_openai) == ["Premier", "R1: Premier", "Second", "R2: Second", "Troisième"]


def test_a_question_edited_inline_continues_from_there_and_the_old_branch_is_a_version(view, site, fake_openai):
    open_dashboard(view, site)
    for number, question in enumerate(("Premier", "Second", "Troisième"), start=1):
        send(view, question)
        reply_done(view, f"R{number}: {question}")
    second = view.locator(".message.user").nth(1)
    edit = second.get_by_role("button", name=text(view, "chat.edit"))

    edit.click()  # Escape gives the question back unchanged
    editor = second.get_by_role("textbox", name=text(view, "chat.editLabel"))
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Second")
    editor.fill("Autre chose")
    view.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(second.locator(".body")).to_have_text("Second")
    expect(edit).to_be_focused()
    expect(view.locator(".message")).to_have_count(6)

    edit.click()  # Enter (on a phone: Send) asks the edited question
    editor.fill("Second, autrement")
    assert not serious_violations(view)
    screenshot(view, f"versions-editor-{view.name}")
    ask_edited(view, second, view.phone)
    reply_done(view, "R4: Second, autrement")
    expect(view.locator(".message .body")).to_have_text(["Premier", "R1: Premier", "Second, autrement",
                                                         "R4: Second, autrement"])
    assert sent_to_model(fake_openai) == ["Premier", "R1: Premier", "Second, autrement"]
    question = view.locator(".message.user").nth(1)
    expect(switch_of(question)).to_contain_text("2/2")
    screenshot(view, f"versions-edited-{view.name}")

    switch_of(question).get_by_role("button", name=text(view, "chat.versionPrevious")).click()
    expect(view.locator(".message .body")).to_have_text(["Premier", "R1: Premier", "Second", "R2: Second",
                                                         "Troisième", "R3: Troisième"])  # nothing was lost
    expect(switch_of(view.locator(".message.user").nth(1))).to_contain_text("1/2")
    reload(view)
    expect(view.locator(".message")).to_have_count(6)
    expect(switch_of(view.locator(".message.user").nth(1))).to_contain_text("1/2")

    last_question = view.locator(".message.user").nth(2)  # the Send button asks it too
    last_question.get_by_role("button", name=text(view, "chat.edit")).click()
    last_question.get_by_role("textbox").fill("Troisième bis")
    last_question.get_by_role("button", name=text(view, "chat.editSend")).click()
    reply_done(view, "R5: Troisième bis")
    assert sent_to_model(fake_openai) == ["Premier", "R1: Premier", "Second", "R2: Second", "Troisième bis"]


def test_a_question_just_sent_can_be_edited_at_once(view, site, fake_openai):
    open_dashboard(view, site)
    send(view, "Premier")
    reply_done(view, "R1: Premier")
    question = view.locator(".message.user").first
    question.get_by_role("button", name=text(view, "chat.edit")).click()
    question.get_by_role("textbox").fill("Premier, mieux dit")
    ask_edited(view, question, view.phone)
    reply_done(view, "R2: Premier, mieux dit")
    expect(switch_of(view.locator(".message.user").first)).to_contain_text("2/2")
    assert sent_to_model(fake_openai) == ["Premier, mieux dit"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_switch_and_the_editor_in_both_themes_at_both_widths(chromium, site, scheme, width):
    context = new_context(chromium, DESKTOP if width == "desktop" else PHONE, "fr", scheme)
    page = watched(context.new_page())
    open_dashboard(page, site)
    regenerated_twice(page)
    assert not serious_violations(page)
    screenshot(page, f"versions-switch-{width}-{scheme}-fr")
    question = page.locator(".message.user").nth(1)
    question.get_by_role("button", name=text(page, "chat.edit")).click()
    question.get_by_role("textbox").fill("Second, autrement")
    assert not serious_violations(page)
    screenshot(page, f"versions-editor-{width}-{scheme}-fr")
    ask_edited(page, question, width == "phone")
    reply_done(page, "R5: Second, autrement")
    assert not serious_violations(page)
    screenshot(page, f"versions-edited-{width}-{scheme}-fr")
    context.close()
    assert not page.errors, page.errors
