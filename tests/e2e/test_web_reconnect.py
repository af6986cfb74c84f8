"""Reconnect handling: the socket drops while the peer writes; on reconnect the app resumes and
delivers what it missed, in order, without a reload."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from e2e_browser import FakeWallet, Person, message, onboard, send
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_messages_missed_while_offline_arrive_after_reconnect(browser_factory: Callable[..., Person]) -> None:
    tag = uuid.uuid4().hex[:8]
    alice_wallet, bob_wallet = FakeWallet(), FakeWallet()
    alice = browser_factory("alice-net", wallet=alice_wallet)
    bob = browser_factory("bob-net", wallet=bob_wallet, allow_console=("ERR_INTERNET_DISCONNECTED",))
    onboard(alice, "Alice")
    onboard(bob, "Bob")
    alice.page.goto(f"/#/new/{bob_wallet.address}")
    alice.page.get_by_role("button", name="Start chat").click()
    send(alice.page, f"hello {tag}")
    bob.page.get_by_role("button", name=re.compile(r"Requests")).click()
    bob.page.locator("#conversations a", has_text="Alice").click()
    bob.page.get_by_role("button", name="Accept").click()
    expect(message(bob.page, f"hello {tag}")).to_be_visible()

    bob.context.set_offline(True)
    expect(bob.page.locator("#connection-status")).to_have_text("Offline, reconnecting…")
    for i in range(3):
        send(alice.page, f"while away {i} {tag}")
    bob.context.set_offline(False)
    expect(bob.page.locator("#connection-status")).to_have_text("Online", timeout=30_000)
    for i in range(3):
        expect(message(bob.page, f"while away {i} {tag}")).to_be_visible()
    seqs = [int(s) for s in bob.page.locator("#thread .msg").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs)
