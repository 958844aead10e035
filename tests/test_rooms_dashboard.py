"""The room in the browser: two people in two separate browser contexts, on SQLite and on the Supabase path.

One creates the room and shares the link, the other joins; both write, the assistant answers a mention and the
button, both see everything without reloading; the owner removes the second, whose view stops updating and whose
next read is refused. Every wait is on the page's state (polled by Playwright), never on time.
"""

import re
import time

import jwt
import pytest

from tests.browser import DESKTOP, Site, open_dashboard

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

SECRET = "room-browser-test-jwt-secret-0123456789abcdef"
WAIT = 15_000  # ms: generous for a busy machine; polling every 2 s gets there long before


@pytest.fixture
def site(backend, env, fake_openai):
    """The dashboard with history in each store; people sign in with their Supabase access token."""
    env.setenv("ALLOW_ANONYMOUS", "0")
    env.setenv("DASHBOARD_TOKEN", "dashboard-token-not-used-in-this-test")  # the page shows its token field
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    site = Site(env)
    site.backend = backend
    yield site
    site.close()


class Person:
    """Someone with their own browser context (own storage, own session) and their own access token."""

    def __init__(self, chromium, site, name: str):
        self.user_id = site.backend.new_user()
        claims = {"sub": self.user_id, "aud": "authenticated", "exp": int(time.time()) + 3600,
                  "user_metadata": {"full_name": name}}
        if site.backend.issuer:
            claims["iss"] = site.backend.issuer
        self.token = jwt.encode(claims, SECRET, algorithm="HS256")
        self.context = chromium.new_context(viewport=DESKTOP, locale="fr-FR")
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.site = site

    def sign_in(self):
        """Sign in from the header (closing the group-room dialog first if an invitation opened it)."""
        if self.page.locator("#group-dialog").evaluate("dialog => dialog.open"):
            self.page.locator("#group-close").click()
        self.page.get_by_role("button", name="Se connecter").click()
        self.page.locator("#auth-token").fill(self.token)
        self.page.locator("#token-dialog").get_by_role("button", name="Se connecter").click()
        expect(self.page.locator("#auth-area")).to_have_attribute("data-state", "signed-in")

    def open_room(self):
        """The built-in room lives in the group-room dialog, opened from the sidebar."""
        self.page.get_by_role("button", name="Salon ChatGPT de groupe").click()
        expect(self.page.locator("#group-dialog")).to_be_visible()

    def write(self, text: str, ask: bool = False):
        self.page.locator("#room-input").fill(text)
        if ask:
            self.page.get_by_role("button", name="Demander à l'assistant").click()
        else:
            self.page.locator("#room-input").press("Enter")

    def bubble(self, text: str):
        """A stored message (polled in) with this exact text."""
        return self.page.locator("#room-log .bubble:not(.pending)").filter(
            has=self.page.locator(".body", has_text=re.compile(f"^{re.escape(text)}$")))

    def read_status(self, conversation_id: str) -> int:
        return self.page.evaluate("""async ([id, token]) => (await fetch(
            `/api/groupchat/chat?conversationId=${id}`, {headers: {Authorization: `Bearer ${token}`}})).status""",
                                  [conversation_id, self.token])

    def close(self):
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture
def people(chromium, site):
    alice, bob = Person(chromium, site, "Alice Martin"), Person(chromium, site, "Bob Durand")
    yield alice, bob
    alice.close()
    bob.close()


def test_two_people_share_a_room_with_the_assistant_until_one_is_removed(people, site):
    alice, bob = people

    # Alice creates the room and an invitation link.
    open_dashboard(alice.page, site)
    alice.sign_in()
    alice.open_room()
    alice.page.get_by_label("Sujet du nouveau salon").fill("Budget 2027")
    alice.page.get_by_role("button", name="Créer un salon").click()
    expect(alice.page.locator("#room-title")).to_have_text("Budget 2027", timeout=WAIT)
    expect(alice.bubble("Echo: Budget 2027")).to_have_count(1, timeout=WAIT)
    alice.page.get_by_role("button", name="Inviter", exact=True).click()
    link = alice.page.locator("#room-link")
    expect(link).to_have_value(re.compile(r"\?invite=[\w-]{40,}$"), timeout=WAIT)
    expect(alice.page.locator("#room-status")).to_contain_text("Lien d'invitation prêt", timeout=WAIT)
    invitation = link.input_value()
    conversation_id = alice.page.evaluate("localStorage.getItem('dashboard.roomId')")

    # Bob opens the link, is asked to sign in, signs in, and is in.
    bob.page.goto(invitation)
    bob.page.locator("body[data-ready=true]").wait_for(timeout=WAIT)
    expect(bob.page.locator("#room-status")).to_have_text("Connectez-vous pour créer ou rejoindre un salon.",
                                                          timeout=WAIT)
    bob.sign_in()
    expect(bob.page.locator("#room-status")).to_have_text("Vous avez rejoint le salon.", timeout=WAIT)
    expect(bob.page.locator("#group-dialog")).to_be_visible()  # the invitation opens the room
    expect(bob.page.locator("#room-title")).to_have_text("Budget 2027", timeout=WAIT)
    expect(bob.bubble("Budget 2027").locator(".who")).to_have_text("Alice Martin", timeout=WAIT)
    assert "invite=" not in bob.page.url  # the link is used up in the address bar

    # Both write; each sees the other's message, with its author, without reloading.
    bob.write("Bonjour Alice")
    expect(alice.bubble("Bonjour Alice").locator(".who")).to_have_text("Bob Durand", timeout=WAIT)
    alice.write("Bonjour Bob")
    expect(bob.bubble("Bonjour Bob").locator(".who")).to_have_text("Alice Martin", timeout=WAIT)

    # The assistant answers a mention, and the button; everyone sees the replies.
    bob.write("@IA quel est le budget ?")
    alice.write("Un avis sur la répartition ?", ask=True)
    for person in (alice, bob):
        for reply in ("Echo: @IA quel est le budget ?", "Echo: Un avis sur la répartition ?"):
            expect(person.bubble(reply).locator(".who")).to_have_text("Assistant", timeout=WAIT)
    assert alice.page.locator("#room-log .bubble.assistant").count() == 3  # no reply to unaddressed messages

    # Alice removes Bob: his view stops updating and his next read is refused.
    alice.page.get_by_role("button", name="Retirer Bob Durand").click(timeout=WAIT)
    expect(alice.page.locator("#room-members li")).to_have_count(1, timeout=WAIT)
    expect(bob.page.locator("#room")).to_have_attribute("data-room", "lost", timeout=WAIT)
    expect(bob.page.locator("#room-status")).to_have_text("Vous ne faites plus partie de ce salon.",
                                                          timeout=WAIT)
    expect(bob.page.locator("#room-input")).to_be_disabled(timeout=WAIT)
    seen_by_bob = bob.page.locator("#room-log .bubble").count()
    alice.write("Entre nous maintenant")
    expect(alice.bubble("Entre nous maintenant")).to_have_count(1, timeout=WAIT)
    assert bob.read_status(conversation_id) == 404
    assert bob.page.locator("#room-log .bubble").count() == seen_by_bob
    expect(bob.bubble("Entre nous maintenant")).to_have_count(0, timeout=WAIT)
    expect(bob.page.locator("#room-list li")).to_have_count(0, timeout=WAIT)
