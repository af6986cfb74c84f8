// The connect screen: wallet discovery, the MetaMask install prompt, then Sign-In with Ethereum
// with a visible step and friendly handling of a rejection, a locked wallet and a wrong chain.

import * as api from "../../api/generated";
import { ApiError } from "../../api/runtime";
import { ChainNotAllowedError, type SignInStep, signIn } from "../auth";
import { h, replace, shortAddress } from "../dom";
import { pendingReferral } from "../referral";
import { type DiscoveredWallet, WalletError, chainName, discoverWallets, switchChain, walletConnectProjectId } from "../wallet";

const STEP_TEXT: Record<SignInStep, string> = {
  account: "Waiting for your wallet to share an account…",
  challenge: "Preparing the sign-in message…",
  sign: "Sign the message in your wallet. It costs nothing and sends no transaction.",
  verify: "Checking the signature…",
};

export async function renderConnect(root: HTMLElement, done: (profileExists: boolean) => void): Promise<void> {
  const status = h("div", { class: "connect-status", role: "status", "aria-live": "polite" });
  const list = h("div", { class: "wallets" }, h("p", { class: "row muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Looking for wallets…"));
  const invite = h("div");
  const card = h(
    "section",
    { class: "card connect stack", "aria-labelledby": "connect-title" },
    h("div", { class: "hero" }, h("h1", { id: "connect-title" }, "Connect your wallet"), h("p", { class: "muted" }, "ATLAS signs you in with your Ethereum wallet. Your messages are end-to-end encrypted in this browser: the server only ever stores ciphertext.")),
    invite,
    list,
    status,
  );
  replace(root, card);
  void showInvite(invite);

  const wallets = await discoverWallets();
  let busy = false;

  const setStatus = (...children: (Node | string)[]): void => replace(status, ...children);

  async function connect(wallet: DiscoveredWallet, button: HTMLButtonElement): Promise<void> {
    if (busy) return;
    busy = true;
    for (const b of list.querySelectorAll("button")) b.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const result = await signIn(wallet, (step) =>
        setStatus(h("p", { class: "row" }, h("span", { class: "spinner", "aria-hidden": "true" }), STEP_TEXT[step])),
      );
      setStatus(h("p", null, `Signed in as ${shortAddress(result.wallet)}.`));
      done(result.profileExists);
      return;
    } catch (err) {
      setStatus(errorView(err, wallet, () => void connect(wallet, button)));
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
      for (const b of list.querySelectorAll("button")) b.disabled = false;
    }
  }

  if (wallets.length === 0) {
    replace(
      list,
      h(
        "div",
        { class: "banner stack", id: "no-wallet" },
        h("h2", null, "No wallet found"),
        h("p", null, "Install MetaMask (or another Ethereum wallet extension), then reload this page."),
        h("a", { class: "button primary", href: "https://metamask.io/download/", target: "_blank", rel: "noopener noreferrer" }, "Install MetaMask"),
        h("button", { type: "button", on: { click: () => location.reload() } }, "I have installed it: reload"),
      ),
    );
  } else {
    const items = wallets.map((wallet) => {
      const button = h(
        "button",
        { type: "button", class: "primary", dataset: { rdns: wallet.info.rdns } },
        wallet.info.icon ? h("img", { src: wallet.info.icon, alt: "" }) : null,
        `Connect ${wallet.info.name}`,
      );
      button.addEventListener("click", () => void connect(wallet, button));
      return h("li", null, button);
    });
    replace(list, h("h2", { class: "visually-hidden" }, "Wallets in this browser"), h("ul", { class: "wallet-list" }, items));
  }
  const wc = walletConnectProjectId();
  if (wc) {
    list.appendChild(
      h("p", { class: "hint" }, "WalletConnect is configured for this deployment; it relays through WalletConnect's public relay. Open the WalletConnect option in your mobile wallet."),
    );
  }
  root.removeAttribute("aria-busy");
  list.querySelector<HTMLButtonElement>("button")?.focus();
}

async function showInvite(slot: HTMLElement): Promise<void> {
  const code = pendingReferral();
  if (!code) return;
  const text = h("span", null, `You were invited with code ${code}.`);
  replace(slot, h("p", { class: "banner", id: "invite-banner" }, text));
  try {
    const owner = await api.getReferralCode(code, { anonymous: true });
    const who = owner.display_name || shortAddress(owner.wallet);
    replace(text, "You were invited by ", h("strong", null, who), ". Connect to accept the invitation.");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) replace(text, `The invitation code ${code} is unknown; you can still sign in.`);
  }
}

function errorView(err: unknown, wallet: DiscoveredWallet, retry: () => void): HTMLElement {
  const again = h("button", { type: "button", on: { click: retry } }, "Try again");
  if (err instanceof ChainNotAllowedError) {
    const target = err.allowed[0] ?? 1;
    const sw = h("button", { type: "button", class: "primary" }, `Switch to ${chainName(target)}`);
    sw.addEventListener("click", () => {
      void switchChain(wallet.provider, target)
        .then(retry)
        .catch((e: unknown) => {
          sw.replaceWith(h("p", { class: "error-text" }, e instanceof WalletError ? e.message : "Could not switch network."));
        });
    });
    return h(
      "div",
      { class: "banner warn stack", role: "alert", id: "wrong-chain" },
      h("p", null, `Your wallet is on ${chainName(err.chainId)}, which ATLAS does not accept for sign-in. Switch to ${err.allowed.map(chainName).join(" or ")}.`),
      h("div", { class: "row" }, sw, again),
    );
  }
  let message = "Sign-in failed.";
  if (err instanceof WalletError) message = err.message;
  else if (err instanceof ApiError) {
    message =
      err.code === "rate_limited"
        ? "Too many attempts. Wait a minute and try again."
        : err.code === "network_error"
          ? "The ATLAS server could not be reached. Check your connection."
          : `Sign-in was refused: ${err.message}`;
  }
  return h("div", { class: "banner error stack", role: "alert", id: "connect-error" }, h("p", null, message), again);
}
