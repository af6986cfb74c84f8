// Entry point: captures a referral code, restores the session, and routes between the screens.

import { reattachWallet, isWalletLocked, onWalletLock } from "./auth";
import { h, replace, shortAddress, toast } from "./dom";
import { captureReferral } from "./referral";
import { type Route, navigate, onRoute, parseRoute } from "./router";
import { onSessionChange, session, signOut } from "./session";
import { renderConnect } from "./views/connect";
import { loadMe, renderProfile, renderProfileForm } from "./views/profile";
import { renderMessenger, stopMessenger } from "./views/messenger";

const app = document.getElementById("app") as HTMLElement;
let profileKnown = false;

function topbar(route: Route): HTMLElement {
  const s = session();
  const link = (href: string, label: string, names: string[]) =>
    h("a", { href, "aria-current": names.includes(route.name) ? "page" : undefined }, label);
  const lock = h("span", { id: "wallet-lock", class: "small muted" }, isWalletLocked() ? "Wallet locked" : "");
  onWalletLock((locked) => replace(lock, locked ? "Wallet locked" : ""));
  return h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/inbox", "aria-label": "ATLAS home" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "A"), h("span", { class: "brand-name" }, "ATLAS")),
    s
      ? h("nav", { class: "topnav", "aria-label": "Main" }, link("#/inbox", "Chats", ["inbox", "chat", "new", "safety"]), link("#/me", "Profile", ["me", "u"]))
      : null,
    h("span", { class: "spacer" }),
    lock,
    s
      ? h(
          "div",
          { class: "account-chip" },
          h("span", { class: "status-dot online", "aria-hidden": "true" }),
          h("span", { class: "addr mono small", id: "account-address", title: s.wallet }, shortAddress(s.wallet)),
          h("button", { type: "button", class: "small", id: "disconnect", on: { click: () => void signOut() } }, "Disconnect"),
        )
      : null,
  );
}

function layout(route: Route): HTMLElement {
  const main = h("main", { id: "main", tabindex: -1 });
  replace(app, topbar(route), main);
  return main;
}

async function render(route: Route): Promise<void> {
  const s = session();
  if (!s) {
    stopMessenger();
    profileKnown = false;
    const main = layout(route);
    await renderConnect(main, (profileExists) => {
      profileKnown = profileExists;
      navigate(profileExists ? "inbox" : "welcome", true);
    });
    return;
  }
  if (!profileKnown) {
    const me = await loadMe().catch(() => null);
    profileKnown = Boolean(me?.display_name);
    if (!profileKnown && route.name !== "welcome") {
      navigate("welcome", true);
      return;
    }
  }
  if (route.name !== "inbox" && route.name !== "chat" && route.name !== "new" && route.name !== "safety") stopMessenger();
  const main = layout(route);
  switch (route.name) {
    case "welcome":
      await renderProfileForm(main, true);
      profileKnown = true;
      break;
    case "me":
      if (route.params[0] === "edit") await renderProfileForm(main, false);
      else await renderProfile(main, null);
      break;
    case "u":
      await renderProfile(main, (route.params[0] ?? "").toLowerCase());
      break;
    case "inbox":
    case "chat":
    case "new":
    case "safety":
      await renderMessenger(main, route);
      break;
    default:
      navigate("inbox", true);
  }
}

let rendering: Promise<void> = Promise.resolve();
function schedule(route: Route): void {
  rendering = rendering
    .then(() => render(route))
    .catch((err: unknown) => {
      console.warn("render failed", err);
      toast("Something went wrong showing this page.", "error");
    })
    .finally(() => app.removeAttribute("aria-busy"));
}

async function boot(): Promise<void> {
  captureReferral();
  await reattachWallet();
  onRoute(schedule);
  let signedIn = Boolean(session());
  onSessionChange((s) => {
    const now = Boolean(s);
    if (now === signedIn) return;
    signedIn = now;
    if (!now) {
      stopMessenger();
      navigate("connect", true);
    }
  });
  document.querySelector(".skip-link")?.addEventListener("click", (ev) => {
    ev.preventDefault();
    document.getElementById("main")?.focus();
  });
  schedule(parseRoute());
}

void boot();
