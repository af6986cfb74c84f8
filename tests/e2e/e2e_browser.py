"""Helpers for the browser tests: the fake wallet (Python half), people, the live server handle.

The fake wallet is an EIP-1193 provider injected with ``add_init_script``. It announces itself over
EIP-6963 (and sits on ``window.ethereum``), and forwards each request to Python through
``expose_function``, where eth-account signs. The Python side can reject the next request (4001),
lock (no accounts), change chain or switch accounts, and emits the matching provider events, so
the tests drive every wallet path a person can.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import BrowserContext, Page, expect

from atlas.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"

WALLET_JS = """
(() => {
  const listeners = {};
  const provider = {
    isMetaMask: %(is_metamask)s,
    request: async ({ method, params }) => {
      const reply = JSON.parse(await window.__atlasTestWallet(method, JSON.stringify(params ?? [])));
      if (reply.error) {
        const err = new Error(reply.error.message);
        err.code = reply.error.code;
        throw err;
      }
      return reply.result;
    },
    on: (event, fn) => { (listeners[event] ??= []).push(fn); },
    removeListener: (event, fn) => { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); },
  };
  window.__atlasTestWalletEmit = (event, value) => { for (const fn of listeners[event] ?? []) fn(value); };
  const info = Object.freeze({
    uuid: "6f0c2b8e-3c1e-4f57-9d1a-0e3b1c0d2a11",
    name: "ATLAS Test Wallet",
    icon: "data:image/svg+xml,%%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 8 8'%%3E%%3Crect width='8' height='8' fill='%%23f6851b'/%%3E%%3C/svg%%3E",
    rdns: "org.atlas.testwallet",
  });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  if (%(announce)s) {
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  }
  if (%(inject)s) window.ethereum = provider;
})();
"""


@dataclass
class FakeWallet:
    """The Python half of the injected wallet; one per browser context (one person)."""

    private_key: str = field(default_factory=lambda: Account.create().key.hex())
    chain_id: int = 1
    locked: bool = False
    reject: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    page: Page | None = None

    @property
    def address(self) -> str:
        return str(Account.from_key(self.private_key).address).lower()

    def handle(self, method: str, params_json: str) -> str:
        self.requests.append(method)
        params = json.loads(params_json)
        if method in self.reject:
            self.reject.discard(method)
            return json.dumps({"error": {"code": 4001, "message": "User rejected the request."}})
        if method == "eth_chainId":
            return json.dumps({"result": hex(self.chain_id)})
        if method == "eth_accounts":
            return json.dumps({"result": [] if self.locked else [self.address]})
        if method == "eth_requestAccounts":
            if self.locked:
                return json.dumps({"error": {"code": -32002, "message": "Unlock the wallet."}})
            return json.dumps({"result": [self.address]})
        if method == "wallet_switchEthereumChain":
            self.chain_id = int(params[0]["chainId"], 16)
            return json.dumps({"result": None})
        if method == "personal_sign":
            if self.locked:
                return json.dumps({"error": {"code": 4100, "message": "Locked."}})
            data, address = params[0], params[1]
            if address.lower() != self.address:
                return json.dumps({"error": {"code": 4100, "message": "Unknown account."}})
            message = encode_defunct(hexstr=data) if data.startswith("0x") else encode_defunct(text=data)
            signed = Account.sign_message(message, private_key=self.private_key)
            return json.dumps({"result": "0x" + signed.signature.hex().removeprefix("0x")})
        return json.dumps({"error": {"code": 4200, "message": f"unsupported {method}"}})

    def switch_account(self) -> str:
        self.private_key = Account.create().key.hex()
        if self.page is not None:
            self.page.evaluate("a => window.__atlasTestWalletEmit('accountsChanged', [a])", self.address)
        return self.address


@dataclass
class LiveServer:
    url: str
    settings: Settings

    @property
    def database_file(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        db = self.settings.resolved_database_url
        return Path(db[len(prefix) :]) if db.startswith(prefix) else None


@dataclass
class Person:
    """One person: their own Chromium profile (fresh user-data-dir), page and wallet."""

    name: str
    context: BrowserContext
    page: Page
    wallet: FakeWallet | None
    errors: list[str]

    def screenshot(self, name: str, *, docs: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # Transient toasts would hide part of the screen in the documentation pictures.
        self.page.evaluate("document.getElementById('toasts')?.replaceChildren()")
        self.page.screenshot(path=str(path))
        # The committed copies change only when asked, so a test run leaves the work tree clean.
        if docs and os.environ.get("ATLAS_UPDATE_DOC_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
        return path


def sign_in(person: Person) -> None:
    """Clicks through the connect screen with the injected wallet."""
    page = person.page
    page.get_by_role("button", name="Connect ATLAS Test Wallet").click()


def onboard(person: Person, name: str | None) -> None:
    """Connect, create the profile (unless ``name`` is None: a returning account), set up messaging."""
    page = person.page
    page.get_by_role("button", name="Connect ATLAS Test Wallet").click()
    if name is not None:
        page.get_by_label("Display name").fill(name)
        page.get_by_role("button", name="Create profile").click()
    page.get_by_role("button", name="Set up secure messaging").click()
    expect(page.locator("#connection-status")).to_have_text("Online")


def message(page: Page, text: str):  # noqa: ANN201 - a Playwright locator
    return page.locator("#thread .msg", has_text=text)


def send(page: Page, text: str) -> None:
    composer = page.locator("#composer")
    composer.fill(text)
    composer.press("Enter")
    expect(message(page, text).locator(".tick")).to_have_attribute("aria-label", re.compile("sent|delivered|read"))
