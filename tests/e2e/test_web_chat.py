"""The whole story in real Chromium: Alice and Bob connect, create profiles, Bob arrives through
Alice's referral link, they chat both ways end to end (receipts, typing), a reload keeps the
history, a third person sees none of it, and the database holds no plaintext of what was typed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from e2e_browser import FakeWallet, LiveServer, Person, message, send
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def connect(page: Page) -> None:
    page.get_by_role("button", name="Connect ATLAS Test Wallet").click()


def onboard(person: Person, name: str) -> None:
    """Connect, create the profile, then set this browser up for messaging (device binding)."""
    page = person.page
    connect(page)
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()
    page.get_by_label("Display name").fill(name)
    page.get_by_role("button", name="Create profile").click()
    page.get_by_role("button", name="Set up secure messaging").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    expect(page.locator("#connection-status")).to_have_text("Online")






def test_two_people_chat_end_to_end(browser_factory: Callable[..., Person], live_server: LiveServer) -> None:
    secret = uuid.uuid4().hex[:12]
    hello = f"Hello Bob, the map is under the oak {secret}"
    reply = f"Thanks Alice, heading there {secret}"
    later = f"Bring a lantern {secret}"

    alice_wallet, bob_wallet, carol_wallet = FakeWallet(), FakeWallet(), FakeWallet()
    alice = browser_factory("alice", wallet=alice_wallet)
    expect(alice.page.get_by_role("heading", name="Connect your wallet")).to_be_visible()
    alice.screenshot("connect", docs=True)
    onboard(alice, "Alice")
    expect(alice.page.locator("#inbox-empty")).to_be_visible()

    alice.page.goto("/#/me")
    code = alice.page.locator("#referral-link").input_value().split("?ref=")[1]

    # Bob follows Alice's link; the code survives the connect flow and is applied at sign-in.
    bob = browser_factory("bob", wallet=bob_wallet, path=f"/?ref={code}")
    expect(bob.page.locator("#invite-banner")).to_contain_text("Alice")
    assert "ref=" not in bob.page.url  # kept in sessionStorage, not in the address bar
    onboard(bob, "Bob")
    bob.page.goto("/#/me")
    expect(bob.page.locator("#invited-by")).to_contain_text("Alice")
    bob.page.goto("/#/inbox")

    # Alice starts a chat with Bob by address and writes first.
    alice.page.goto("/#/inbox")
    alice.page.get_by_role("link", name="New chat", exact=True).click()
    alice.page.get_by_label("Wallet address").fill(bob_wallet.address)
    alice.page.get_by_role("button", name="Start chat").click()
    expect(alice.page.locator("#chat-title")).to_have_text("Bob")
    expect(alice.page.locator("#request-pending")).to_be_visible()
    send(alice.page, hello)

    # Bob gets a message request, decrypted on his device, and accepts it.
    requests_tab = bob.page.get_by_role("button", name=re.compile(r"Requests \(1\)"))
    expect(requests_tab).to_be_visible()
    requests_tab.click()
    entry = bob.page.locator("#conversations a", has_text="Alice")
    expect(entry).to_contain_text(hello)
    entry.click()
    expect(message(bob.page, hello)).to_be_visible()
    # Alice is in the middle of a sentence when Bob accepts: her pane updates around the composer,
    # which keeps its focus and text (rebuilding it would drop keystrokes typed meanwhile).
    alice.page.locator("#composer").fill("half a thou")
    alice.page.locator("#composer").evaluate("el => { el.dataset.probe = 'same element' }")
    bob.page.get_by_role("button", name="Accept").click()
    expect(bob.page.locator("#request-bar")).to_have_count(0)
    expect(alice.page.locator("#request-pending")).to_have_count(0)
    expect(alice.page.locator("#composer")).to_have_attribute("data-probe", "same element")
    expect(alice.page.locator("#composer")).to_be_focused()
    alice.page.keyboard.type("ght")
    expect(alice.page.locator("#composer")).to_have_value("half a thought")
    alice.page.locator("#composer").fill("")

    # Typing indicator, then the reply.
    alice.page.locator("#composer").focus()
    bob.page.locator("#composer").press_sequentially("Thanks", delay=20)
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    bob.page.locator("#composer").fill("")
    send(bob.page, reply)
    expect(message(alice.page, reply)).to_be_visible()
    expect(alice.page.locator("#typing")).to_have_text("")

    # Receipts: Bob has read Alice's message, Alice has read Bob's.
    expect(message(alice.page, hello).locator(".tick")).to_have_attribute("aria-label", "read")
    expect(message(bob.page, reply).locator(".tick")).to_have_attribute("aria-label", "read")
    bob.screenshot("conversation", docs=True)

    # Alice goes back to her inbox; Bob's next message shows as unread with a preview.
    alice.page.goto("/#/inbox")
    send(bob.page, later)
    row = alice.page.locator("#conversations a", has_text="Bob")
    expect(row.locator(".badge")).to_have_text("1")
    expect(row).to_contain_text(later)
    alice.screenshot("inbox", docs=True)

    # Search runs over the locally decrypted history.
    alice.page.locator("#inbox-search").fill("lantern")
    expect(alice.page.locator("#search-results")).to_contain_text(later)
    alice.page.locator("#inbox-search").fill("")
    row.click()
    expect(row.locator(".badge")).to_have_count(0)

    # The safety number is the same 60 digits on both sides.
    alice.page.locator("#safety-link").click()
    alice_digits = alice.page.locator(".safety-digits").first.get_attribute("data-digits")
    bob.page.locator("#safety-link").click()
    bob_digits = bob.page.locator(".safety-digits").first.get_attribute("data-digits")
    assert alice_digits
    assert re.fullmatch(r"\d{60}", alice_digits)
    assert alice_digits == bob_digits

    # A reload keeps the history (sealed in IndexedDB; a used message key cannot decrypt twice).
    conversation_url = alice.page.url.replace("/safety/", "/chat/")
    alice.page.goto(conversation_url)
    alice.page.reload()
    for text in (hello, reply, later):
        expect(message(alice.page, text)).to_be_visible()
    expect(message(alice.page, hello).locator(".tick")).to_have_attribute("aria-label", "read")

    # Carol, a third person, sees none of it: an empty inbox and no access to the conversation.
    carol = browser_factory("carol", wallet=carol_wallet)
    onboard(carol, "Carol")
    expect(carol.page.locator("#inbox-empty")).to_be_visible()
    conversation_id = conversation_url.rsplit("/", 1)[1]
    carol.page.goto(f"/#/chat/{conversation_id}")
    expect(carol.page.get_by_text("This conversation could not be opened")).to_be_visible()
    carol.errors.clear()  # the refused fetch above is the expected 404, logged by Chromium
    for text in (hello, reply, later):
        expect(carol.page.get_by_text(text)).to_have_count(0)

    # Alice's profile: points, coherence with its "why", and Bob in her referral tree.
    alice.page.goto("/#/me")
    expect(alice.page.locator("#referral-tree")).to_contain_text("Bob")
    alice.page.get_by_role("button", name="Why this score?").click()
    expect(alice.page.locator("#explain-table")).to_be_visible()
    alice.screenshot("profile", docs=True)

    # The server stored ciphertext only: no byte sequence of anything typed is in the database.
    db = live_server.database_file
    assert db is not None
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert len(stored) > 0
    for text in (hello, reply, later, secret):
        assert text.encode() not in stored, f"plaintext {text!r} found in the database"
