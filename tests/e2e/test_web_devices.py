"""Several devices per account in the browser: a second browser for Alice gets its own keys and
binding, receives what Bob sends and what Alice sends from her first browser, and Bob is warned
that Alice's set of devices changed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from e2e_browser import FakeWallet, Person, message, onboard, send
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]








def test_second_device_receives_and_peer_is_warned(browser_factory: Callable[..., Person]) -> None:
    tag = uuid.uuid4().hex[:8]
    alice_wallet, bob_wallet = FakeWallet(), FakeWallet()
    alice = browser_factory("alice1", wallet=alice_wallet)
    bob = browser_factory("bob", wallet=bob_wallet)
    onboard(alice, "Alice")
    onboard(bob, "Bob")

    alice.page.goto(f"/#/new/{bob_wallet.address}")
    alice.page.get_by_role("button", name="Start chat").click()
    send(alice.page, f"first {tag}")
    bob.page.get_by_role("button", name=re.compile(r"Requests")).click()
    bob.page.locator("#conversations a", has_text="Alice").click()
    bob.page.get_by_role("button", name="Accept").click()
    send(bob.page, f"reply {tag}")
    expect(message(alice.page, f"reply {tag}")).to_be_visible()

    # Alice opens ATLAS in a second browser with the same wallet: a new device, its own binding.
    alice2 = browser_factory("alice2", wallet=FakeWallet(private_key=alice_wallet.private_key))
    onboard(alice2, None)
    assert alice2.wallet is not None
    assert alice2.wallet.requests.count("personal_sign") == 2  # sign-in, then the device binding

    # Bob writes again: his client finds Alice's new device and encrypts for both.
    send(bob.page, f"to both {tag}")
    expect(bob.page.locator("#key-alert")).to_contain_text("new device")
    row = alice2.page.locator("#conversations a", has_text="Bob")
    expect(row).to_contain_text(f"to both {tag}")
    row.click()
    expect(message(alice2.page, f"to both {tag}")).to_be_visible()
    # Sent before this device existed: honestly not readable here.
    expect(alice2.page.locator("#thread .msg.undecryptable").first).to_be_visible()

    # What Alice sends from her first browser reaches her second one as her own message.
    expect(message(alice.page, f"to both {tag}")).to_be_visible()
    send(alice.page, f"from laptop {tag}")
    mine = message(alice2.page, f"from laptop {tag}")
    expect(mine).to_have_class(re.compile(r"\bmine\b"))
    expect(message(bob.page, f"from laptop {tag}")).to_be_visible()

    # The safety-number view lists both of Alice's devices for Bob.
    bob.page.locator("#safety-link").click()
    expect(bob.page.locator(".safety-digits")).to_have_count(2)

    # A second tab of the same browser would share this device's ratchets: it is refused.
    tab = alice.context.new_page()
    tab.goto("/")
    tab.get_by_role("button", name="Connect ATLAS Test Wallet").click()
    expect(tab.locator("#messenger-error")).to_contain_text("already open in another tab")
    tab.close()
