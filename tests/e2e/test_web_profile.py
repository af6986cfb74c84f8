"""Sign-in and profile in the browser: SIWE through the fake wallet, first-run profile, referral
capture through the connect flow, the wallet's error paths, and account switching."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from e2e_browser import FakeWallet, Person
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e



def png(colour: tuple[int, int, int] = (48, 70, 197)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


def connect(page: Page) -> None:
    page.get_by_role("button", name="Connect ATLAS Test Wallet").click()


def create_profile(page: Page, name: str, bio: str = "") -> None:
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()
    page.get_by_label("Display name").fill(name)
    if bio:
        page.get_by_label("Bio").fill(bio)
    page.get_by_role("button", name="Create profile").click()
    expect(page.get_by_role("heading", name="Secure this browser for messaging")).to_be_visible()


def test_sign_in_creates_profile_with_avatar(browser_factory: Callable[..., Person]) -> None:
    wallet = FakeWallet()
    alice = browser_factory("alice-profile", wallet=wallet)
    page = alice.page
    connect(page)
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()
    assert "personal_sign" in wallet.requests
    expect(page.locator("#account-address")).to_have_text(f"{wallet.address[:6]}…{wallet.address[-4:]}")
    page.locator("#avatar-file").set_input_files({"name": "me.png", "mimeType": "image/png", "buffer": png()})
    expect(page.get_by_alt_text("Preview of your new avatar")).to_be_visible()
    create_profile(page, "Alice", "Cartographer")
    page.goto("/#/me")
    expect(page.locator("img.avatar")).to_have_attribute("src", re.compile(r"/v1/users/0x[0-9a-f]{40}/avatar"))
    expect(page.get_by_role("heading", name="Alice")).to_be_visible()
    link = page.locator("#referral-link").input_value()
    assert "?ref=" in link
    page.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.get_by_role("button", name="Why this score?").click()
    expect(page.locator("#explain-table")).to_be_visible()
    # Edit page: change the bio, back on the profile.
    page.get_by_role("link", name="Edit profile").click()
    page.get_by_label("Bio").fill("Maps and messages")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Maps and messages")).to_be_visible()
    # The tokens never appear in the URL, and live only in sessionStorage.
    assert "token" not in page.url
    assert page.evaluate("Object.keys(localStorage).filter(k => localStorage.getItem(k).includes('access_token')).length") == 0
    # Disconnect ends the session on the server and forgets the tokens here.
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Connect your wallet")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('atlas.session')") is None


def test_locked_wallet_then_rejected_signature_then_retry(browser_factory: Callable[..., Person]) -> None:
    wallet = FakeWallet(locked=True, reject={"personal_sign"})
    person = browser_factory("rejecter", wallet=wallet)
    page = person.page
    connect(page)
    expect(page.locator("#connect-error")).to_contain_text("already has a request open")
    wallet.locked = False
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("#connect-error")).to_contain_text("You rejected the request in your wallet.")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()


def test_wrong_chain_offers_switch(browser_factory: Callable[..., Person]) -> None:
    wallet = FakeWallet(chain_id=137)
    # The refused challenge is an expected 400, which Chromium logs as a failed resource.
    person = browser_factory("polygon", wallet=wallet, allow_console=("status of 400",))
    page = person.page
    connect(page)
    expect(page.locator("#wrong-chain")).to_contain_text("Polygon")
    page.get_by_role("button", name="Switch to Ethereum").click()
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()
    assert wallet.chain_id == 1


def test_account_change_signs_out(browser_factory: Callable[..., Person]) -> None:
    wallet = FakeWallet()
    person = browser_factory("switcher", wallet=wallet)
    page = person.page
    connect(page)
    expect(page.get_by_role("heading", name="Set up your profile")).to_be_visible()
    wallet.switch_account()
    expect(page.get_by_role("heading", name="Connect your wallet")).to_be_visible()
    expect(page.get_by_text("switched accounts")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('atlas.session')") is None
