// Profile screens: first-run creation, the edit page (avatar upload with preview), one's own
// profile with the referral link, points and coherence (with the "why" from the explain endpoint)
// and the referral tree, and other people's public profiles.

import * as api from "../../api/generated";
import { ApiError } from "../../api/runtime";
import { avatar, fullTime, h, replace, shortAddress, toast } from "../dom";
import { invitedBy, referralLink } from "../referral";
import { navigate } from "../router";
import { session } from "../session";

/** Profiles fetched for display, by wallet (cleared for our own after an upload). */
export const people = new Map<string, Promise<api.UserProfile | null>>();

const MAX_AVATAR = 2 * 1024 * 1024;
const AVATAR_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];

export function displayName(user: { display_name?: string | null; wallet: string }): string {
  return user.display_name?.trim() || shortAddress(user.wallet);
}

export async function loadMe(): Promise<api.UserProfile | null> {
  const s = session();
  if (!s) return null;
  try {
    return await api.getMe();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : "Something went wrong.";
}

/** The profile form, used both for first-run creation and for editing. */
export async function renderProfileForm(root: HTMLElement, firstRun: boolean): Promise<void> {
  const me = await loadMe().catch(() => null);
  const wallet = session()?.wallet ?? "";
  const nameInput = h("input", { id: "display-name", name: "display_name", required: true, maxlength: 64, autocomplete: "nickname", value: me?.display_name ?? "" });
  const bioInput = h("textarea", { id: "bio", name: "bio", maxlength: 280, rows: 3 });
  bioInput.value = me?.bio ?? "";
  const fileInput = h("input", { id: "avatar-file", type: "file", accept: AVATAR_TYPES.join(","), class: "visually-hidden" });
  const preview = h("div", { class: "avatar-slot" }, avatar(wallet, me?.avatar_url, me?.display_name ?? "", 96));
  const fileHint = h("p", { class: "hint", id: "avatar-hint" }, "PNG, JPEG, WebP or GIF, up to 2 MB.");
  const error = h("p", { class: "error-text", role: "alert" });
  const save = h("button", { type: "submit", class: "primary" }, firstRun ? "Create profile" : "Save changes");
  let chosen: File | null = null;
  let previewUrl: string | null = null;

  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0] ?? null;
    if (!file) return;
    if (!AVATAR_TYPES.includes(file.type)) {
      replace(fileHint, "That file is not a supported image.");
      return;
    }
    if (file.size > MAX_AVATAR) {
      replace(fileHint, "That image is larger than 2 MB.");
      return;
    }
    chosen = file;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    replace(preview, h("img", { class: "avatar avatar-preview", src: previewUrl, alt: "Preview of your new avatar", width: 96, height: 96 }));
    replace(fileHint, `Selected ${file.name}. It is uploaded when you save.`);
  });

  const form = h(
    "form",
    { class: "card stack", "aria-labelledby": "profile-title", novalidate: true },
    h("h1", { id: "profile-title" }, firstRun ? "Set up your profile" : "Edit profile"),
    firstRun ? h("p", { class: "muted" }, "Choose how people see you. Your wallet address stays your identity.") : null,
    h(
      "div",
      { class: "row" },
      preview,
      h("div", null, h("label", { for: "avatar-file", class: "button" }, "Choose avatar"), fileInput, fileHint),
    ),
    h("div", { class: "field" }, h("label", { for: "display-name" }, "Display name"), nameInput),
    h("div", { class: "field" }, h("label", { for: "bio" }, "Bio ", h("span", { class: "muted small" }, "(optional)")), bioInput),
    error,
    h("div", { class: "row" }, save, firstRun ? null : h("a", { class: "button", href: "#/me" }, "Cancel")),
  );
  fileInput.setAttribute("aria-describedby", "avatar-hint");

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      replace(error, "Enter a display name.");
      nameInput.focus();
      return;
    }
    save.disabled = true;
    save.setAttribute("aria-busy", "true");
    replace(error);
    void (async () => {
      try {
        await api.patchMe({ display_name: name, bio: bioInput.value.trim() });
        if (chosen) {
          const data = new FormData();
          data.append("file", chosen, chosen.name);
          await api.putAvatar(data);
          people.delete(wallet);
        }
        toast(firstRun ? "Profile created." : "Profile saved.");
        navigate(firstRun ? "inbox" : "me");
      } catch (err) {
        replace(error, errorText(err));
      } finally {
        save.disabled = false;
        save.removeAttribute("aria-busy");
      }
    })();
  });
  replace(root, form);
  nameInput.focus();
}

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function referralCard(user: api.UserProfile): HTMLElement | null {
  if (!user.referral_code) return null;
  const link = user.referral_link || referralLink(user.referral_code);
  const linkInput = h("input", { id: "referral-link", readonly: true, value: link, class: "mono" });
  const copyBtn = h("button", { type: "button", class: "primary" }, "Copy link");
  copyBtn.addEventListener("click", () => {
    void copy(link).then((ok) => {
      if (ok) toast("Referral link copied.");
      else {
        linkInput.select();
        toast("Press Ctrl+C to copy the selected link.");
      }
    });
  });
  const actions = h("div", { class: "row" }, copyBtn);
  if (typeof navigator.share === "function") {
    const share = h("button", { type: "button" }, "Share…");
    share.addEventListener("click", () => {
      void navigator.share({ title: "Join me on ATLAS", text: "Chat with me on ATLAS, end-to-end encrypted.", url: link }).catch(() => undefined);
    });
    actions.appendChild(share);
  }
  return h(
    "section",
    { class: "card stack", "aria-labelledby": "ref-title" },
    h("h2", { id: "ref-title" }, "Invite friends"),
    h("p", { class: "muted" }, `Your code is `, h("strong", { class: "mono" }, user.referral_code), `. You have invited ${user.referral_count} ${user.referral_count === 1 ? "person" : "people"}.`),
    h("div", { class: "field" }, h("label", { for: "referral-link" }, "Your referral link"), linkInput),
    actions,
  );
}

function scoreCard(user: api.UserProfile): HTMLElement {
  const why = h("div", { id: "coherence-why" });
  const whyBtn = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "coherence-why" }, "Why this score?");
  whyBtn.addEventListener("click", () => {
    const open = whyBtn.getAttribute("aria-expanded") === "true";
    whyBtn.setAttribute("aria-expanded", String(!open));
    if (open) {
      replace(why);
      return;
    }
    replace(why, h("p", { class: "row muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading the ledger entries behind it…"));
    void api
      .explainCoherence(user.wallet, { anonymous: true })
      .then((explain: api.CoherenceExplanation) => replace(why, explainView(explain)))
      .catch((err: unknown) => replace(why, h("p", { class: "error-text" }, errorText(err))));
  });
  const score = user.coherence.score;
  const meter = h("div", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 10000, "aria-valuenow": score, "aria-label": "Coherence score" }, h("span"));
  (meter.firstElementChild as HTMLElement).style.width = `${Math.max(0, Math.min(100, score / 100))}%`;
  return h(
    "section",
    { class: "card stack", "aria-labelledby": "score-title" },
    h("h2", { id: "score-title" }, "Genesis Points and coherence"),
    h(
      "div",
      { class: "stats" },
      h("div", { class: "stat" }, h("span", { class: "muted small" }, "Genesis Points"), h("strong", { id: "points-balance" }, String(user.genesis_points))),
      h("div", { class: "stat" }, h("span", { class: "muted small" }, "Coherence"), h("strong", { id: "coherence-score" }, `${(score / 100).toFixed(2)}%`)),
      h("div", { class: "stat" }, h("span", { class: "muted small" }, "Trust level"), h("strong", { id: "trust-level" }, user.coherence.trust_level)),
    ),
    meter,
    whyBtn,
    why,
    h("div", { id: "points-awards" }),
  );
}

const TERM_LABELS: Record<string, string> = {};

/** Every term of the score with its contribution and the ledger entries behind it. */
function explainView(explain: api.CoherenceExplanation): HTMLElement {
  const rows = explain.terms.map((term) =>
    h(
      "tr",
      null,
      h("th", { scope: "row" }, TERM_LABELS[term.name] ?? term.name.replace(/_/g, " ")),
      h("td", { class: "mono" }, `${term.value >= 0 ? "+" : ""}${term.value}`),
      h("td", { class: "mono" }, `${term.count}${term.cap ? ` (cap ${term.cap})` : ""}`),
      h("td", { class: "mono small" }, term.seqs.length ? term.seqs.slice(0, 12).map((s) => `#${s}`).join(", ") + (term.seqs.length > 12 ? ` … (${term.seqs.length})` : "") : "none"),
    ),
  );
  return h(
    "div",
    { class: "stack" },
    h(
      "table",
      { class: "explain-table", id: "explain-table" },
      h("caption", { class: "visually-hidden" }, "How the coherence score is made"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Term"), h("th", { scope: "col" }, "Points of score"), h("th", { scope: "col" }, "Counted"), h("th", { scope: "col" }, "Ledger entries"))),
      h("tbody", null, rows),
    ),
    h("p", { class: "hint" }, `Score ${explain.score} of 10000, formula v${explain.formula_version}${explain.as_of_seq !== null ? `, as of ledger entry #${explain.as_of_seq}` : ""}. Anyone can recompute it from the public Genesis Ledger.`),
  );
}

interface TreeNode {
  node: api.ReferralNode;
  children: TreeNode[];
}

/** The API lists the tree flat (each node with its referrer and depth); nest it for display. */
function nest(root: string, items: api.ReferralNode[]): TreeNode[] {
  const byReferrer = new Map<string, api.ReferralNode[]>();
  for (const item of items) byReferrer.set(item.referrer, [...(byReferrer.get(item.referrer) ?? []), item]);
  const build = (wallet: string, seen: Set<string>): TreeNode[] =>
    (byReferrer.get(wallet) ?? []).filter((n) => !seen.has(n.wallet)).map((node) => ({ node, children: build(node.wallet, new Set([...seen, node.wallet])) }));
  return build(root, new Set([root]));
}

function treeView(nodes: TreeNode[]): HTMLElement {
  return h(
    "ul",
    { class: "tree" },
    nodes.map(({ node, children }) =>
      h(
        "li",
        null,
        h("a", { href: `#/u/${node.wallet}` }, displayName(node)),
        " ",
        node.activated ? h("span", { class: "tag ok" }, "active") : h("span", { class: "tag" }, "joined"),
        children.length ? treeView(children) : null,
      ),
    ),
  );
}

async function referralTree(wallet: string, slot: HTMLElement): Promise<void> {
  try {
    const tree = await api.getReferrals(wallet, { depth: 3 }, { anonymous: true });
    const nodes = nest(wallet, tree.items);
    replace(
      slot,
      nodes.length
        ? [h("p", { class: "small muted" }, `${tree.referral_count} accepted, ${tree.activated_count} active.`), treeView(nodes)]
        : h("p", { class: "muted" }, "Nobody yet. Share your link to grow your tree."),
    );
  } catch (err) {
    replace(slot, h("p", { class: "error-text" }, errorText(err)));
  }
}

async function pointsList(wallet: string, slot: HTMLElement): Promise<void> {
  try {
    const points = await api.getPoints(wallet, undefined, { anonymous: true });
    if (!points.awards.length) return;
    replace(
      slot,
      h("h3", null, "Awards"),
      h(
        "ul",
        { class: "small" },
        points.awards.slice(-10).reverse().map((a: api.Award) => h("li", null, `+${a.points} for ${a.reason.replace(/_/g, " ")} `, h("span", { class: "muted mono" }, `(entry #${a.seq})`))),
      ),
    );
  } catch {
    /* points are shown in the summary already */
  }
}

export async function renderProfile(root: HTMLElement, wallet: string | null): Promise<void> {
  const own = !wallet || wallet === session()?.wallet;
  const target = own ? session()?.wallet : wallet;
  if (!target) return;
  replace(root, h("p", { class: "row muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading profile…"));
  let user: api.UserProfile;
  try {
    user = await api.getUser(target, { anonymous: !own });
  } catch (err) {
    replace(root, h("div", { class: "card" }, h("h1", null, "Profile not found"), h("p", null, errorText(err))));
    return;
  }
  const tree = h("div", { id: "referral-tree" }, h("p", { class: "muted" }, "Loading…"));
  const head = h(
    "section",
    { class: "card row", "aria-labelledby": "profile-name" },
    avatar(user.wallet, user.avatar_url, user.display_name ?? "", 72),
    h(
      "div",
      { class: "spacer" },
      h("h1", { id: "profile-name" }, displayName(user)),
      h("p", { class: "mono small muted wallet-full", title: user.wallet }, user.wallet),
      user.bio ? h("p", null, user.bio) : null,
      h("p", { class: "small muted" }, `Joined ${fullTime(user.created_at)}`),
      own && invitedBy() ? h("p", { class: "small", id: "invited-by" }, "Invited by ", h("a", { href: `#/u/${invitedBy()?.wallet}` }, invitedBy()?.name ?? "")) : null,
    ),
    own
      ? h("a", { class: "button", href: "#/me/edit" }, "Edit profile")
      : h("button", { type: "button", class: "primary", on: { click: () => navigate(`new/${user.wallet}`) } }, "Message"),
  );
  const score = scoreCard(user);
  replace(
    root,
    h(
      "div",
      { class: "stack" },
      head,
      h("div", { class: "grid2" }, own ? referralCard(user) : null, score),
      h("section", { class: "card stack", "aria-labelledby": "tree-title" }, h("h2", { id: "tree-title" }, own ? "Your referral tree" : "Referral tree"), tree),
    ),
  );
  void referralTree(user.wallet, tree);
  void pointsList(user.wallet, score.querySelector("#points-awards") as HTMLElement);
}
