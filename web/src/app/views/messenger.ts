// Inbox and conversation screens over the engine: list with decrypted previews, unread badges,
// search over names and local history, requests with accept/block, the thread with ticks and
// typing, the composer, the safety-number view and the key-change warning.

import * as api from "../../api/generated";
import { formatSafetyNumber } from "../../crypto";
import { Engine, type Conversation, type PendingMessage, type StoredMessage, describeError } from "../chat/engine";
import { avatar, fullTime, h, replace, shortAddress, timeLabel, toast } from "../dom";
import { type Route, navigate } from "../router";
import { session } from "../session";
import { people } from "./profile";
import { WalletError } from "../wallet";

let engine: Engine | null = null;
let starting: Promise<Engine> | null = null;
let unsubscribe: (() => void) | null = null;

function profileOf(wallet: string): Promise<api.UserProfile | null> {
  const hit = people.get(wallet);
  if (hit) return hit;
  const p = api.getUser(wallet, { anonymous: true }).catch(() => null);
  people.set(wallet, p);
  return p;
}

function nameOf(conv: Conversation, profile: api.UserProfile | null): string {
  return profile?.display_name || conv.peer_display_name || shortAddress(conv.peer);
}

export function stopMessenger(): void {
  unsubscribe?.();
  unsubscribe = null;
  engine?.stop();
  engine = null;
  starting = null;
  releaseTabLock?.();
  releaseTabLock = null;
  document.title = "ATLAS";
}

window.addEventListener("online", () => engine?.nudge());
window.addEventListener("offline", () => engine?.drop());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") engine?.nudge();
});

let releaseTabLock: (() => void) | null = null;

class OtherTabError extends Error {}

/**
 * One tab per account and browser: two tabs sharing one device would each advance the same ratchet
 * sessions from their own copy and overwrite each other's state. A Web Lock held while the
 * messenger runs makes the second tab say so instead.
 */
function acquireTabLock(wallet: string): Promise<(() => void) | null> {
  if (!("locks" in navigator)) return Promise.resolve(() => undefined);
  return new Promise((resolve) => {
    void navigator.locks.request(`atlas-device-${wallet}`, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise<void>((release) => resolve(() => release()));
    });
  });
}

async function getEngine(): Promise<Engine> {
  const wallet = session()?.wallet;
  if (!wallet) throw new Error("signed out");
  if (engine && engine.wallet === wallet) return engine;
  stopMessenger();
  starting ??= (async () => {
    const release = await acquireTabLock(wallet);
    if (!release) {
      starting = null;
      throw new OtherTabError("ATLAS is already open in another tab of this browser. Use that tab, or close it and reload this one.");
    }
    releaseTabLock = release;
    const e = await Engine.start(wallet);
    await e.loadConversations().catch(() => []);
    engine = e;
    return e;
  })();
  return starting;
}

/** First use on this browser: ask the wallet to sign the device binding, then publish it. */
function setupView(root: HTMLElement, e: Engine, done: () => void): void {
  const status = h("p", { role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "primary", id: "setup-device" }, "Set up secure messaging");
  button.addEventListener("click", () => {
    button.disabled = true;
    replace(status, h("span", { class: "spinner", "aria-hidden": "true" }), " Sign the device key binding in your wallet…");
    e.ensureRegistered()
      .then(done)
      .catch((err: unknown) => {
        button.disabled = false;
        replace(status, h("span", { class: "error-text" }, err instanceof WalletError ? err.message : describeError(err)));
      });
  });
  replace(
    root,
    h(
      "section",
      { class: "card stack connect", "aria-labelledby": "setup-title" },
      h("h1", { id: "setup-title" }, "Secure this browser for messaging"),
      h("p", null, "ATLAS creates encryption keys in this browser. Your wallet signs a statement binding them to your account, so your contacts can check that messages really come from you. The keys never leave this device."),
      button,
      status,
    ),
  );
  button.focus();
}

export async function renderMessenger(root: HTMLElement, route: Route): Promise<void> {
  replace(root, h("p", { class: "row muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Opening your encrypted inbox…"));
  let e: Engine;
  try {
    e = await getEngine();
  } catch (err) {
    const text = err instanceof OtherTabError ? err.message : `Could not open this browser's encrypted storage: ${describeError(err)}`;
    replace(root, h("div", { class: "banner warn", role: "alert", id: "messenger-error" }, text));
    return;
  }
  if (!e.device.registered) {
    // Try silently first (the wallet may sign without a prompt); otherwise explain and ask.
    setupView(root, e, () => void renderMessenger(root, route));
    return;
  }
  e.connect();
  const view = new MessengerView(root, e, route);
  unsubscribe?.();
  unsubscribe = e.on((ev) => view.onEvent(ev));
  await view.render();
}

class MessengerView {
  private listEl = h("ul", { class: "conv-list", id: "conversations", "aria-label": "Conversations" });
  private searchResults = h("div", { id: "search-results" });
  private tab: "chats" | "requests" = "chats";
  private query = "";
  private convPane = h("section", { class: "pane conv-pane", "aria-label": "Conversation" });
  private statusEl = h("span", { class: "small muted", id: "connection-status", role: "status" });
  private thread: HTMLElement | null = null;
  private threadGeneration = 0;
  private listGeneration = 0;
  // The open conversation's composer and request-bar slot, updated in place on a state change.
  private chatControls: { conv: string; name: string; bar: HTMLElement; textarea: HTMLTextAreaElement; send: HTMLButtonElement } | null = null;
  private typingEl: HTMLElement | null = null;
  private typingTimer: number | null = null;
  // What the typing line shows, so a re-render of the same conversation (e.g. the peer just
  // accepted) does not wipe an indicator that arrived a moment before.
  private typingShown: { conv: string; text: string } | null = null;
  private current: Conversation | null = null;
  private refreshTimer: number | null = null;
  private tabsEl = h("div", { class: "inbox-tabs", role: "group", "aria-label": "Show" });

  constructor(
    private readonly root: HTMLElement,
    private readonly engine: Engine,
    private readonly route: Route,
  ) {}

  async render(): Promise<void> {
    const search = h("input", { type: "search", id: "inbox-search", placeholder: "Search people and messages", "aria-label": "Search people and messages", autocomplete: "off" });
    search.addEventListener("input", () => {
      this.query = search.value;
      void this.renderList();
    });
    const list = h(
      "section",
      { class: "pane list-pane", "aria-labelledby": "inbox-title" },
      h("div", { class: "pane-head" }, h("h1", { id: "inbox-title", class: "spacer" }, "Chats"), this.statusEl, h("a", { class: "button small primary", href: "#/new", id: "new-chat" }, "New chat")),
      h("div", { class: "pane-head" }, search),
      this.tabsEl,
      h("div", { class: "pane-body" }, this.searchResults, this.listEl),
    );
    const hasConv = this.route.name !== "inbox";
    replace(this.root, h("div", { class: `messenger${hasConv ? " has-conv" : ""}` }, list, this.convPane));
    this.showStatus();
    await this.renderList();
    await this.renderConversationPane();
  }

  private showStatus(): void {
    const text = { connecting: "Connecting…", online: "Online", offline: "Offline, reconnecting…" }[this.engine.status];
    replace(this.statusEl, text);
  }

  onEvent(ev: Parameters<Parameters<Engine["on"]>[0]>[0]): void {
    switch (ev.type) {
      case "status":
        this.showStatus();
        if (ev.status === "online" && this.current) void this.engine.sync(this.current.id).catch(() => undefined);
        break;
      case "message":
        if (this.current && ev.conv === this.current.id) {
          void this.renderThread();
          if (!ev.message.mine && ev.message.kind === "text") {
            if (document.visibilityState === "visible") void this.engine.markRead(this.current.id, this.current.peer);
            this.showTyping(null);
          }
        }
        this.scheduleListRefresh(!this.engine.conversations.has(ev.conv));
        break;
      case "pending":
      case "receipt":
        if (this.current && ev.conv === this.current.id) void this.renderThread();
        this.scheduleListRefresh(false);
        break;
      case "typing":
        if (this.current && ev.conv === this.current.id && ev.from !== this.engine.wallet) this.showTyping(ev.state === "start" ? ev.from : null);
        break;
      case "keychange":
        if (this.current) void this.renderAlert();
        break;
      case "conversations": {
        this.scheduleListRefresh(false);
        const fresh = this.current ? this.engine.conversations.get(this.current.id) : undefined;
        if (fresh && this.current && fresh.state !== this.current.state && this.route.name === "chat") {
          this.current = fresh;
          // Accepting makes the read receipt the peer sees due (it is withheld from a request).
          if (this.applyChatState(fresh)) void this.engine.markRead(fresh.id, fresh.peer).catch(() => undefined);
        }
        break;
      }
    }
  }

  private scheduleListRefresh(reload: boolean): void {
    if (this.refreshTimer !== null) window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = null;
      void (async () => {
        if (reload) await this.engine.loadConversations().catch(() => undefined);
        await this.renderList();
      })();
    }, 150);
  }

  // ---- the list --------------------------------------------------------------------------------

  private async renderList(): Promise<void> {
    const all = [...this.engine.conversations.values()];
    const isRequest = (c: Conversation) => c.state === "request" && c.initiator !== this.engine.wallet;
    const requests = all.filter(isRequest);
    const shownTab = this.tab === "requests" && requests.length === 0 ? "chats" : this.tab;
    const tabButton = (tab: "chats" | "requests", label: string) => {
      const b = h("button", { type: "button", "aria-pressed": String(shownTab === tab) }, label);
      b.addEventListener("click", () => {
        this.tab = tab;
        void this.renderList();
      });
      return b;
    };
    replace(this.tabsEl, tabButton("chats", "Chats"), tabButton("requests", `Requests${requests.length ? ` (${requests.length})` : ""}`));
    let convs = all.filter((c) => (shownTab === "requests" ? isRequest(c) : !isRequest(c)));
    const generation = ++this.listGeneration; // as in renderThread: an older, slower render must not win
    const rows = await Promise.all(
      convs.map(async (c) => ({ c, profile: await profileOf(c.peer), summary: await this.engine.summary(c) })),
    );
    if (generation !== this.listGeneration) return;
    const totalUnread = rows.reduce((n, r) => n + (r.c.state === "blocked" ? 0 : r.summary.unread), 0) + requests.length;
    document.title = totalUnread ? `(${totalUnread}) ATLAS` : "ATLAS";
    const q = this.query.trim().toLowerCase();
    let filtered = rows;
    if (q) {
      filtered = rows.filter(({ c, profile }) => nameOf(c, profile).toLowerCase().includes(q) || c.peer.includes(q));
      await this.renderSearch(q, rows);
      if (generation !== this.listGeneration) return;
    } else {
      replace(this.searchResults);
    }
    filtered.sort((a, b) => {
      const ta = Math.max(Date.parse(a.c.last_activity_at) || 0, Date.parse(a.summary.last?.serverTs ?? "") || 0);
      const tb = Math.max(Date.parse(b.c.last_activity_at) || 0, Date.parse(b.summary.last?.serverTs ?? "") || 0);
      return tb - ta;
    });
    convs = filtered.map((r) => r.c);
    if (convs.length === 0) {
      replace(
        this.listEl,
        h(
          "li",
          { class: "empty", id: "inbox-empty" },
          q
            ? "No people match your search."
            : shownTab === "requests"
              ? "No message requests."
              : [h("p", null, "No conversations yet."), h("a", { class: "button primary", href: "#/new" }, "Start a new chat")],
        ),
      );
      return;
    }
    replace(
      this.listEl,
      filtered.map(({ c, profile, summary }) => {
        const name = nameOf(c, profile);
        const sending = this.engine.pendingFor(c.id).at(-1);
        const preview =
          c.state === "blocked"
            ? "Blocked"
            : sending
              ? `You: ${sending.text}`
              : summary.last
              ? `${summary.last.mine ? "You: " : ""}${summary.last.kind === "text" ? summary.last.text : "Encrypted message"}`
              : c.last_message
                ? "Encrypted message"
                : "No messages yet";
        const unread = c.state === "blocked" ? 0 : summary.unread;
        return h(
          "li",
          null,
          h(
            "a",
            {
              href: `#/chat/${c.id}`,
              "aria-current": this.current?.id === c.id ? "true" : undefined,
              dataset: { conversation: c.id, peer: c.peer },
            },
            avatar(c.peer, profile?.avatar_url, name, 40),
            h(
              "span",
              { class: "conv-main" },
              h("span", { class: "conv-top" }, h("span", { class: "conv-name" }, name), h("span", { class: "small muted" }, timeLabel(summary.last?.serverTs ?? c.last_activity_at))),
              h("span", { class: "conv-top" }, h("span", { class: "conv-preview" }, preview), unread ? [h("span", { class: "badge", "aria-hidden": "true" }, String(unread)), h("span", { class: "visually-hidden" }, `, ${unread} unread`)] : null),
            ),
          ),
        );
      }),
    );
  }

  private async renderSearch(q: string, rows: { c: Conversation; profile: api.UserProfile | null }[]): Promise<void> {
    const hits = await this.engine.search(q);
    if (!hits.length) {
      replace(this.searchResults);
      return;
    }
    const byId = new Map(rows.map((r) => [r.c.id, r]));
    replace(
      this.searchResults,
      h("h2", { class: "small muted", id: "search-title" }, "Messages"),
      h(
        "ul",
        { class: "conv-list", "aria-labelledby": "search-title" },
        hits.slice(-20).reverse().map((m) => {
          const row = byId.get(m.conv);
          const who = row ? nameOf(row.c, row.profile) : "Conversation";
          return h("li", null, h("a", { href: `#/chat/${m.conv}`, class: "search-hit" }, h("span", { class: "conv-main" }, h("span", { class: "conv-name" }, who), h("span", { class: "conv-preview" }, m.text))));
        }),
      ),
    );
  }

  // ---- the right pane --------------------------------------------------------------------------

  private async renderConversationPane(): Promise<void> {
    if (this.route.name === "new") {
      this.renderNewChat(this.route.params[0] ?? "");
      return;
    }
    if (this.route.name === "inbox") {
      replace(this.convPane, h("div", { class: "empty" }, h("p", null, "Select a conversation, or start a new one."), h("p", { class: "small" }, "Messages are end-to-end encrypted: only you and the people you talk to can read them.")));
      return;
    }
    const id = this.route.params[0] ?? "";
    let conv: Conversation;
    try {
      conv = this.engine.conversations.get(id) ?? (await this.engine.conversation(id));
    } catch (err) {
      replace(this.convPane, h("div", { class: "empty", role: "alert" }, `This conversation could not be opened: ${describeError(err)}`));
      return;
    }
    this.current = conv;
    void this.renderList();
    if (this.route.name === "safety") await this.renderSafety(conv);
    else await this.renderChat(conv);
  }

  private renderNewChat(prefill: string): void {
    const input = h("input", { id: "peer-address", name: "peer", required: true, autocomplete: "off", spellcheck: false, placeholder: "0x…", value: prefill, class: "mono" });
    const error = h("p", { class: "error-text", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Start chat");
    const form = h(
      "form",
      { class: "stack pane-body new-chat", novalidate: true },
      h("h2", null, "Start a new chat"),
      h("div", { class: "field" }, h("label", { for: "peer-address" }, "Wallet address"), input, h("p", { class: "hint" }, "Paste the Ethereum address of the person you want to message.")),
      error,
      h("div", { class: "row" }, submit, h("a", { class: "button", href: "#/inbox" }, "Cancel")),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const peer = input.value.trim().toLowerCase();
      if (!/^0x[0-9a-f]{40}$/.test(peer)) {
        replace(error, "Enter a 0x address of 40 hexadecimal characters.");
        input.focus();
        return;
      }
      if (peer === this.engine.wallet) {
        replace(error, "That is your own address.");
        return;
      }
      submit.disabled = true;
      this.engine
        .startConversation(peer)
        .then((c) => navigate(`chat/${c.id}`))
        .catch((err: unknown) => {
          submit.disabled = false;
          replace(error, describeError(err));
        });
    });
    replace(this.convPane, form);
    input.focus();
  }

  private alertEl = h("div", { id: "key-alert" });

  private async renderAlert(): Promise<void> {
    const conv = this.current;
    if (!conv) return;
    const meta = await this.engine.meta(conv.id);
    if (!meta.alert) {
      replace(this.alertEl);
      return;
    }
    const mine = meta.alert.wallet === this.engine.wallet;
    const text = mine
      ? "A new device was added to your account. Check its safety number if you did not add it yourself."
      : meta.alert.kind === "changed"
        ? "Their security keys changed (they may have reinstalled). Verify the safety number before sharing anything sensitive."
        : "They added a new device. Verify its safety number if you want to be sure.";
    const dismiss = h("button", { type: "button", class: "small" }, "Dismiss");
    dismiss.addEventListener("click", () => void this.engine.dismissAlert(conv.id).then(() => this.renderAlert()));
    replace(this.alertEl, h("div", { class: "banner warn row", role: "alert" }, h("span", { class: "spacer" }, text), h("a", { class: "button small", href: `#/safety/${conv.id}` }, "Verify safety number"), dismiss));
  }

  private async renderChat(conv: Conversation): Promise<void> {
    const profile = await profileOf(conv.peer);
    const name = nameOf(conv, profile);
    this.thread = h("div", { class: "thread", id: "thread", role: "log", "aria-live": "polite", "aria-label": `Messages with ${name}`, tabindex: 0 });
    this.typingEl = h("div", { class: "typing", id: "typing", "aria-live": "polite" });
    if (this.typingShown && this.typingShown.conv === conv.id) replace(this.typingEl, this.typingShown.text);
    const textarea = h("textarea", { id: "composer", rows: 1, placeholder: "Write an encrypted message", "aria-label": `Message ${name}`, maxlength: 4000 });
    const send = h("button", { type: "submit", class: "primary", id: "send" }, "Send");
    const composer = h("form", { class: "composer", "aria-label": "Send a message" }, textarea, send);
    let typingState: "start" | "stop" = "stop";
    let typingStop: number | null = null;
    const stopTyping = () => {
      if (typingState === "start") this.engine.typing(conv.id, "stop");
      typingState = "stop";
    };
    textarea.addEventListener("input", () => {
      if (typingState === "stop" && textarea.value) {
        typingState = "start";
        this.engine.typing(conv.id, "start");
      }
      if (typingStop !== null) window.clearTimeout(typingStop);
      typingStop = window.setTimeout(stopTyping, 3000);
      if (!textarea.value) stopTyping();
    });
    const submit = () => {
      const text = textarea.value.trim();
      if (!text) return;
      textarea.value = "";
      stopTyping();
      void this.engine.sendText(conv.id, conv.peer, text);
    };
    textarea.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submit();
      }
    });
    composer.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit();
    });
    this.chatControls = { conv: conv.id, name, bar: h("div", { id: "request-slot" }), textarea, send };
    replace(
      this.convPane,
      h(
        "div",
        { class: "pane-head" },
        h("a", { class: "button small back", href: "#/inbox", "aria-label": "Back to chats" }, "←"),
        avatar(conv.peer, profile?.avatar_url, name, 36),
        h("div", { class: "spacer" }, h("h2", { id: "chat-title" }, name), h("a", { class: "small mono muted", href: `#/u/${conv.peer}` }, shortAddress(conv.peer))),
        h("a", { class: "button small", href: `#/safety/${conv.id}`, id: "safety-link" }, "Safety number"),
      ),
      this.alertEl,
      this.chatControls.bar,
      h("div", { class: "pane-body" }, this.thread),
      this.typingEl,
      composer,
    );
    const writable = this.applyChatState(conv);
    await this.renderAlert();
    await this.renderThread();
    if (writable) textarea.focus();
    void this.engine
      .sync(conv.id)
      .then(() => this.engine.markRead(conv.id, conv.peer))
      .catch((err: unknown) => console.warn("sync failed", err));
  }

  /**
   * Shows the request/blocked bar for the conversation's state and enables the composer when it
   * may be written to. A state change (the peer accepted, say) goes through here alone rather than
   * rebuilding the pane: rebuilding would replace the composer under someone typing, dropping
   * their focus and whatever keystrokes arrive in between. Returns whether it is writable.
   */
  private applyChatState(conv: Conversation): boolean {
    const controls = this.chatControls;
    if (!controls || controls.conv !== conv.id) return false;
    const { name, textarea, send } = controls;
    const isRequestForMe = conv.state === "request" && conv.initiator !== this.engine.wallet;
    const blocked = conv.state === "blocked";
    let requestBar: HTMLElement | null = null;
    if (isRequestForMe) {
      const accept = h("button", { type: "button", class: "primary", id: "accept-request" }, "Accept");
      const block = h("button", { type: "button", class: "danger", id: "block-request" }, "Block");
      accept.addEventListener("click", () => void this.engine.accept(conv.id).then(() => navigate(`chat/${conv.id}`)).catch((err: unknown) => toast(describeError(err), "error")));
      block.addEventListener("click", () => void this.engine.block(conv.id).then(() => navigate("inbox")).catch((err: unknown) => toast(describeError(err), "error")));
      requestBar = h("div", { class: "banner row", id: "request-bar" }, h("span", { class: "spacer" }, `${name} wants to message you. Accept to reply, or block them.`), accept, block);
    } else if (blocked) {
      const unblock = h("button", { type: "button", id: "unblock" }, "Unblock");
      unblock.addEventListener("click", () => void this.engine.accept(conv.id).then(() => navigate(`chat/${conv.id}`)).catch((err: unknown) => toast(describeError(err), "error")));
      requestBar = h("div", { class: "banner warn row", id: "blocked-bar" }, h("span", { class: "spacer" }, conv.blocked_by_me ? "You blocked this conversation." : "This conversation is blocked."), conv.blocked_by_me ? unblock : null);
    } else if (conv.state === "request") {
      requestBar = h("p", { class: "banner small", id: "request-pending" }, `Your message request is waiting for ${name} to accept.`);
    }
    replace(controls.bar, requestBar);
    const writable = !isRequestForMe && !blocked;
    const wasDisabled = textarea.disabled;
    textarea.disabled = send.disabled = !writable;
    if (writable && wasDisabled) textarea.focus();
    return writable;
  }

  private showTyping(from: string | null): void {
    if (!this.typingEl || !this.current) return;
    if (this.typingTimer !== null) window.clearTimeout(this.typingTimer);
    if (!from) {
      this.typingShown = null;
      replace(this.typingEl);
      return;
    }
    const conv = this.current;
    void profileOf(conv.peer).then((p) => {
      const text = `${nameOf(conv, p)} is typing…`;
      this.typingShown = { conv: conv.id, text };
      if (this.typingEl) replace(this.typingEl, text);
    });
    this.typingTimer = window.setTimeout(() => this.showTyping(null), 6000);
  }

  private async renderThread(): Promise<void> {
    const conv = this.current;
    const thread = this.thread;
    if (!conv || !thread) return;
    // Renders overlap (a receipt and a send a moment apart); the one started last must win, so
    // an older one that finishes later does not put back an older picture.
    const generation = ++this.threadGeneration;
    const [history, meta] = await Promise.all([this.engine.history(conv.id), this.engine.meta(conv.id)]);
    if (generation !== this.threadGeneration) return;
    // A sent message is briefly both stored and pending (between its ack and the pending list update).
    const stored = new Set(history.map((m) => m.clientMsgId));
    const pending = this.engine.pendingFor(conv.id).filter((p) => !stored.has(p.clientMsgId));
    const nearBottom = thread.parentElement ? thread.parentElement.scrollHeight - thread.parentElement.scrollTop - thread.parentElement.clientHeight < 80 : true;
    const items: HTMLElement[] = [];
    let lastDay = "";
    const visible = history.filter((m) => m.kind !== "receipt");
    if (visible.length === 0 && pending.length === 0) {
      items.push(h("p", { class: "empty", id: "thread-empty" }, "No messages yet. Say hello: only the two of you can read what you write here."));
    }
    for (const m of visible) {
      const day = new Date(m.serverTs).toDateString();
      if (day !== lastDay) {
        items.push(h("div", { class: "day-sep" }, new Date(m.serverTs).toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" })));
        lastDay = day;
      }
      items.push(this.bubble(m, meta.peerDeliveredUpTo, meta.peerReadUpTo));
    }
    for (const p of pending) items.push(this.pendingBubble(p, conv.peer));
    replace(thread, items);
    if (nearBottom && thread.parentElement) thread.parentElement.scrollTop = thread.parentElement.scrollHeight;
  }

  private bubble(m: StoredMessage, delivered: number, read: number): HTMLElement {
    const time = h("time", { datetime: m.serverTs, title: fullTime(m.serverTs) }, timeLabel(m.serverTs));
    let tick: HTMLElement | null = null;
    if (m.mine) {
      const state = m.seq <= read ? "read" : m.seq <= delivered ? "delivered" : "sent";
      tick = h("span", { class: `tick tick-${state}`, "aria-label": state, title: state }, state === "sent" ? " ✓" : " ✓✓");
    }
    const text = m.kind === "text" ? m.text : "This message cannot be decrypted on this device.";
    return h(
      "div",
      { class: `msg${m.mine ? " mine" : ""}${m.kind === "unavailable" ? " undecryptable" : ""}`, dataset: { seq: String(m.seq) } },
      h("span", { class: "msg-text" }, text),
      h("span", { class: "msg-meta" }, time, tick),
    );
  }

  private pendingBubble(p: PendingMessage, peer: string): HTMLElement {
    const meta: (Node | string)[] = [];
    if (p.state === "sending") meta.push(h("span", { class: "tick", "aria-label": "sending" }, "Sending…"));
    else {
      const retry = h("button", { type: "button", class: "link small" }, "Retry");
      retry.addEventListener("click", () => void this.engine.retry(p.clientMsgId, peer));
      meta.push(h("span", { class: "error-text" }, `Not sent: ${p.error ?? "error"} `), retry);
    }
    return h("div", { class: "msg mine pending", dataset: { client: p.clientMsgId } }, h("span", { class: "msg-text" }, p.text), h("span", { class: "msg-meta" }, ...meta));
  }

  private async renderSafety(conv: Conversation): Promise<void> {
    const profile = await profileOf(conv.peer);
    const name = nameOf(conv, profile);
    const body = h("div", { class: "pane-body stack safety" }, h("p", { class: "row muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Computing…"));
    replace(
      this.convPane,
      h("div", { class: "pane-head" }, h("a", { class: "button small", href: `#/chat/${conv.id}`, "aria-label": "Back to the conversation" }, "←"), h("h2", { class: "spacer", id: "safety-title" }, `Safety number with ${name}`)),
      body,
    );
    try {
      const numbers = await this.engine.safetyNumbers(conv.peer);
      const blocks = numbers.map((n) => {
        const groups = formatSafetyNumber(n.digits).split(" ");
        return h(
          "section",
          { class: "card stack", "aria-label": `Device ${n.deviceId}` },
          h("h3", null, n.mine ? "Your other device " : `${name}'s device `, h("span", { class: "mono small muted" }, n.deviceId.slice(0, 8))),
          h("div", { class: "safety-digits mono", dataset: { digits: n.digits } }, groups.map((g) => h("span", null, g))),
        );
      });
      replace(
        body,
        h("p", null, `Compare these numbers with ${name} in person or over another channel you trust. If they match, nobody is intercepting your conversation. They change when either of you gets new keys.`),
        blocks.length ? blocks : h("p", { class: "muted" }, `${name} has not set up a device yet.`),
        h("p", { class: "hint mono" }, `This device: ${this.engine.device.id}`),
      );
    } catch (err) {
      replace(body, h("p", { class: "error-text", role: "alert" }, describeError(err)));
    }
  }
}
