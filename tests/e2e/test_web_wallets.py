"""Wallet discovery on the connect screen: EIP-6963, the window.ethereum fallback, no wallet at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_browser import FakeWallet, Person
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_no_wallet_shows_install_metamask(browser_factory: Callable[..., Person]) -> None:
    person = browser_factory("nowallet")
    page = person.page
    expect(page.get_by_role("heading", name="No wallet found")).to_be_visible()
    link = page.get_by_role("link", name="Install MetaMask")
    expect(link).to_have_attribute("href", "https://metamask.io/download/")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_eip6963_wallet_is_listed_by_name(browser_factory: Callable[..., Person]) -> None:
    person = browser_factory("announced", wallet=FakeWallet(), inject=False)
    button = person.page.get_by_role("button", name="Connect ATLAS Test Wallet")
    expect(button).to_be_visible()
    expect(button).to_be_focused()


def test_window_ethereum_fallback_is_labelled_metamask(browser_factory: Callable[..., Person]) -> None:
    person = browser_factory("legacy", wallet=FakeWallet(), announce=False)
    expect(person.page.get_by_role("button", name="Connect MetaMask")).to_be_visible()
