"""The room in the browser: two people in two separate browser contexts, on SQLite and on the Supabase path.

One creates the room by its name (nothing goes to the assistant) and invites; the other opens the link, signs in and
is in. Both write in the one conversation view; a question to the assistant is seen by the other with the reply
while it grows; the asker reloads mid-reply and finds it continuing; a room with news is marked unread; the owner
removes the other after a confirmation, whose view stops and whose old link is refused. Every wait is on the
page's state (polled by Playwright), never on time; the stand-in holds a reply at its first word until released.
"""

import re
import threading
import time

import jwt
import pytest

from tests.browser import DESKTOP, PHONE, open_dashboard, screenshot
from tests.browser_fixtures import new_context

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

SECRET = "room-browser-test-jwt-secret-0123456789abcdef"
WAIT = 15_000  # ms: generous for a busy machine; polling every 1-2 s gets there long before


@pytest.fixture
def site(backend, env, fake_openai):
    """The dashboard with history in each store; people sign in with their Supabase access token."""
    from tests.browser import Site

    env.setenv("ALLOW_ANONYMOUS", "0")
    env.setenv("DASHBOARD_TOKEN", "dashboard-token-not-used-in-this-test")  # the page shows its token field
    env.setenv("SUPABASE_JWT_SECRET", SECRET)
    site = Site(env)
    site.backend = backend
    site.openai = fake_openai
    yield site
    site.close()


class Person:
    """Someone with their own browser context (own storage, own session) and their own access token."""

    def __init__(self, chromium, site, name: str, viewport=DESKTOP, scheme="light"):
        self.name, self.phone = name, viewport == PHONE
        self.user_id = site.backend.new_user()
        claims = {"sub": self.user_id, "aud": "authenticated", "exp": int(time.time()) + 3600,
                  "user_metadata": {"full_name": name}}
        if site.backend.issuer:
            claims["iss"] = site.backend.issuer
        self.token = jwt.encode(claims, SECRET, algorithm="HS256")
        self.context = new_context(chromium, viewport, "fr", scheme)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.site = site

    def sign_in(self):
        self.page.locator("#sign-in-button").click()
        self.page.locator("#auth-token").fill(self.token)
        self.page.locator("#token-dialog").get_by_role("button", name="Se connecter").click()
        expect(self.page.locator("#auth-area")).to_have_attribute("data-state", "signed-in")

    def write(self, text: str, ask: bool = False):
        self.page.locator("#chat-input").fill(text)
        if ask:
            self.page.get_by_role("button", name="Demander à l'assistant").click()
        elif self.phone:  # on a touch screen Enter is a new line: the send button sends
            self.page.locator("#chat-send").click()
        else:
            self.page.locator("#chat-input").press("Enter")

    def message(self, text, stored=True):
        """A message shown with this exact text (a stored one: it has its id)."""
        selector = "#chat-log .message[data-id]" if stored else "#chat-log .message"
        return self.page.locator(selector).filter(
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


def create_room(person, name):
    person.page.get_by_role("button", name="Nouveau salon").click()
    person.page.get_by_label("Nom du salon").fill(name)
    person.page.locator("#new-room-dialog").get_by_role("button", name="Créer le salon").click()
    expect(person.page.locator("#conversation-title")).to_have_text(name, timeout=WAIT)


def make_invitation(person, reusable=False) -> str:
    person.page.locator("#room-invite").click()
    dialog = person.page.locator("#room-dialog")
    expect(dialog).to_be_visible()
    if reusable:
        dialog.get_by_label("Lien réutilisable (plusieurs personnes)").check()
    dialog.get_by_role("button", name="Créer un lien d'invitation").click()
    link = person.page.locator("#invite-link")
    expect(link).to_have_value(re.compile(r"\?invite=[\w-]{40,}$"), timeout=WAIT)
    url = link.input_value()
    dialog.get_by_role("button", name="Fermer").click()
    return url


def test_two_people_share_a_room_in_the_conversation_view(people, site):
    alice, bob = people
    open_dashboard(alice.page, site)
    alice.sign_in()

    # A room is made by its name alone: the assistant is asked nothing.
    asked_before = len(site.openai.requests)
    create_room(alice, "Budget 2027")
    expect(alice.page.locator(".empty")).to_contain_text("Invitez vos interlocuteurs")
    assert len(site.openai.requests) == asked_before
    expect(alice.page.locator("#conversation-list li.room")).to_have_count(1)
    expect(alice.page.locator("#conversation-list li.room")).to_contain_text("1 participant(s)")
    invitation = make_invitation(alice)
    conversation_id = alice.page.evaluate("localStorage.getItem('dashboard.conversationId')")

    # Bob opens the link, is told to sign in, signs in, and is in the room, in the main view.
    bob.page.goto(invitation)
    bob.page.locator("body[data-ready=true]").wait_for(timeout=WAIT)
    assert "invite=" not in bob.page.url  # the token leaves the address bar at once
    expect(bob.page.locator("#room-notice")).to_have_text(
        "Connectez-vous pour rejoindre le salon auquel vous êtes invité.", timeout=WAIT)
    bob.sign_in()
    expect(bob.page.locator("#room-notice")).to_have_text("Vous avez rejoint le salon.", timeout=WAIT)
    expect(bob.page.locator("#conversation-title")).to_have_text("Budget 2027")
    expect(bob.page.locator("#room-summary")).to_contain_text("2 participant(s)")

    # Both write; each sees their own as theirs and the other's under the other's name, without reloading.
    bob.write("Bonjour Alice")
    expect(bob.message("Bonjour Alice").locator(".who")).to_have_text("Vous", timeout=WAIT)
    expect(alice.message("Bonjour Alice").locator(".who")).to_have_text("Bob Durand", timeout=WAIT)
    alice.write("Bonjour Bob")
    expect(bob.message("Bonjour Bob").locator(".who")).to_have_text("Alice Martin", timeout=WAIT)
    expect(alice.page.locator("#chat-error")).to_be_hidden()

    # Bob asks the assistant; Alice sees the question and the reply while it is still being written.
    site.openai.gate = threading.Event()
    bob.write("@IA quel est le budget prévu ?")
    expect(alice.message("@IA quel est le budget prévu ?").locator(".who")).to_have_text("Bob Durand", timeout=WAIT)
    growing = alice.page.locator('#chat-log .message.assistant[data-state="writing"]')
    expect(growing).to_have_count(1, timeout=WAIT)
    expect(growing.locator(".body")).to_contain_text("Echo:", timeout=WAIT)
    screenshot(alice.page, "room-reply-growing-desktop-fr")

    # Bob reloads mid-reply: the reply goes on, and he finds it still being written, then whole.
    bob.page.reload()
    bob.page.locator("body[data-ready=true]").wait_for(timeout=WAIT)
    expect(bob.page.locator('#chat-log .message.assistant[data-state="writing"]')).to_have_count(1, timeout=WAIT)
    site.openai.gate.set()
    for person in (alice, bob):
        expect(person.message("Echo: @IA quel est le budget prévu ?").locator(".who")).to_have_text(
            "Assistant", timeout=WAIT)
    expect(alice.page.locator("#chat-log .message.assistant")).to_have_count(1)  # unaddressed messages: no reply

    # Alice goes to a private chat; Bob writes; the room is marked unread in Alice's list until she opens it.
    alice.page.get_by_role("button", name="Nouvelle conversation").first.click()
    expect(alice.page.locator("#conversation-head")).to_be_hidden()
    bob.write("Je vous envoie les chiffres")
    expect(bob.message("Je vous envoie les chiffres")).to_have_count(1, timeout=WAIT)
    alice.write("Une question privée")
    expect(alice.message("Echo: Une question privée", stored=False)).to_have_count(1, timeout=WAIT)
    room_item = alice.page.locator("#conversation-list li.room")
    expect(room_item).to_have_attribute("data-unread", "true", timeout=WAIT)
    screenshot(alice.page, "room-unread-desktop-fr")
    room_item.get_by_role("button").first.click()
    expect(alice.message("Je vous envoie les chiffres")).to_have_count(1, timeout=WAIT)
    expect(room_item).not_to_have_attribute("data-unread", "true", timeout=WAIT)

    # Alice removes Bob after confirming: his view stops at once, and his reads are refused.
    alice.page.locator("#room-people").click()
    alice.page.get_by_role("button", name="Retirer Bob Durand").click()
    expect(alice.page.locator("#confirm-dialog")).to_be_visible()
    expect(alice.page.locator("#confirm-title")).to_have_text("Retirer Bob Durand ?")
    alice.page.locator("#confirm-ok").click()
    expect(alice.page.locator("#room-members li")).to_have_count(1, timeout=WAIT)
    alice.page.locator("#room-dialog-close").click()
    expect(bob.page.locator("#room-notice")).to_have_text("Vous ne faites plus partie de ce salon.", timeout=WAIT)
    expect(bob.page.locator("#chat-input")).to_be_disabled()
    expect(bob.page.locator("#chat-form")).to_be_hidden()
    shown_to_bob = bob.page.locator("#chat-log .message").count()
    alice.write("Entre nous maintenant")
    expect(alice.message("Entre nous maintenant")).to_have_count(1, timeout=WAIT)
    assert bob.read_status(conversation_id) == 404
    assert bob.page.locator("#chat-log .message").count() == shown_to_bob
    screenshot(bob.page, "room-removed-desktop-fr")


def test_a_removed_person_cannot_come_back_with_an_old_link(people, site):
    alice, bob = people
    open_dashboard(alice.page, site)
    alice.sign_in()
    create_room(alice, "Dossier succession")
    reusable = make_invitation(alice, reusable=True)
    open_dashboard(bob.page, site)
    bob.sign_in()
    bob.page.goto(reusable)
    expect(bob.page.locator("#room-notice")).to_have_text("Vous avez rejoint le salon.", timeout=WAIT)

    # The owner sees the open invitation, who made it and how many joined.
    alice.page.locator("#room-people").click()
    expect(alice.page.locator("#invite-list li")).to_have_count(1, timeout=WAIT)
    expect(alice.page.locator("#invite-list li")).to_contain_text("1 arrivée(s)", timeout=WAIT)
    expect(alice.page.locator("#invite-list li")).to_contain_text("Alice Martin")
    screenshot(alice.page, "room-people-desktop-fr")
    alice.page.get_by_role("button", name="Retirer Bob Durand").click()
    alice.page.locator("#confirm-ok").click()
    expect(alice.page.locator("#room-members li")).to_have_count(1, timeout=WAIT)

    # Bob's old link, still open for others, does not let him back in.
    bob.page.goto(reusable)
    bob.page.locator("body[data-ready=true]").wait_for(timeout=WAIT)
    expect(bob.page.locator("#room-notice")).to_contain_text("Ce lien d'invitation a expiré", timeout=WAIT)
    expect(bob.page.locator("#conversation-head")).to_be_hidden()

    # The owner revokes it: it disappears from the open invitations.
    alice.page.get_by_role("button", name=re.compile("^Révoquer l'invitation")).click()
    expect(alice.page.locator("#invite-list li")).to_have_count(0, timeout=WAIT)
    expect(alice.page.locator("#invite-none")).to_have_text("Aucune invitation en cours.")


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_room_on_a_phone_is_a_full_screen_chat_without_serious_accessibility_violations(chromium, site, scheme):
    from tests.test_dashboard_look import serious_violations

    alice = Person(chromium, site, "Alice Martin", PHONE, scheme)
    bob = Person(chromium, site, "Bob Durand", PHONE, scheme)
    try:
        open_dashboard(alice.page, site)
        alice.sign_in()
        alice.page.locator("#drawer-button").click()
        create_room(alice, "Épargne des enfants")
        expect(alice.page.locator("#chat-sidebar")).to_be_hidden()  # the drawer closes: the room fills the screen
        invitation = make_invitation(alice)
        open_dashboard(bob.page, site)
        bob.sign_in()
        bob.page.goto(invitation)
        expect(bob.page.locator("#room-notice")).to_have_text("Vous avez rejoint le salon.", timeout=WAIT)
        bob.write("Bonjour, voici ma question pour le livret")
        alice.write("@IA que faut-il savoir sur le livret A ?")
        expect(alice.message("Bonjour, voici ma question pour le livret")).to_have_count(1, timeout=WAIT)
        expect(alice.message("Echo: @IA que faut-il savoir sur le livret A ?")).to_have_count(1, timeout=WAIT)
        width = alice.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "nothing scrolls sideways"
        assert not serious_violations(alice.page), "a room with messages"
        screenshot(alice.page, f"room-phone-{scheme}-fr")
        alice.page.locator("#room-people").click()
        expect(alice.page.locator("#room-dialog")).to_be_visible()
        assert not serious_violations(alice.page), "the people dialog"
        screenshot(alice.page, f"room-people-phone-{scheme}-fr")
    finally:
        alice.close()
        bob.close()
