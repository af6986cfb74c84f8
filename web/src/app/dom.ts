// A few DOM helpers: the app is plain TypeScript + DOM, so views build elements with `h()`.
// Text always goes through textContent (never innerHTML), so peer-supplied strings cannot inject markup.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> & {
  class?: string;
  on?: Partial<Record<keyof HTMLElementEventMap, (ev: Event) => void>>;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "on") {
        for (const [name, fn] of Object.entries(value as Record<string, EventListener>)) el.addEventListener(name, fn);
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (key in el && typeof value !== "string") {
        (el as unknown as Record<string, unknown>)[key] = value;
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function timeLabel(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dayFmt.format(d);
}

export function fullTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : fullFmt.format(d);
}

/** A polite live region for status messages (screen readers hear them; sighted users see a toast). */
export function toast(message: string, kind: "info" | "error" = "info"): void {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(region);
  }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  region.appendChild(item);
  setTimeout(() => item.remove(), 5000);
}

/** Deterministic identicon colours for an address, so avatars without an upload still differ. */
export function addressHue(address: string): number {
  let hash = 0;
  for (const ch of address.toLowerCase()) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return hash % 360;
}

export function avatar(address: string, url: string | null | undefined, label: string, size = 40): HTMLElement {
  if (url) {
    return h("img", { class: "avatar", src: url, alt: "", width: size, height: size, loading: "lazy" });
  }
  const el = h("span", { class: "avatar avatar-fallback", "aria-hidden": "true" }, (label || address.slice(2, 4)).slice(0, 1).toUpperCase());
  el.style.setProperty("--hue", String(addressHue(address)));
  el.style.width = el.style.height = `${size}px`;
  return el;
}
