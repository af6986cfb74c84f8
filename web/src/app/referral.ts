// Referral capture: `?ref=CODE` on any page is kept in sessionStorage through the connect flow,
// sent as `referral_code` at sign-in, then forgotten. The query string is removed from the address
// bar so a shared screenshot or copied link does not carry someone else's code along.

import { session } from "./session";

const KEY = "atlas.ref";
const CODE = /^[A-Za-z0-9_-]{3,64}$/;

export function captureReferral(): string | null {
  const url = new URL(location.href);
  const code = url.searchParams.get("ref");
  if (code !== null) {
    if (CODE.test(code)) sessionStorage.setItem(KEY, code);
    url.searchParams.delete("ref");
    history.replaceState(history.state, "", `${url.pathname}${url.search}${url.hash}`);
  }
  return pendingReferral();
}

export function pendingReferral(): string | null {
  const code = sessionStorage.getItem(KEY);
  return code && CODE.test(code) ? code : null;
}

export function clearReferral(): void {
  sessionStorage.removeItem(KEY);
}

export function referralLink(code: string): string {
  return `${location.origin}/?ref=${encodeURIComponent(code)}`;
}

/** Who invited this account (recorded at the sign-in that accepted the referral). */
export function rememberInviter(wallet: string, inviter: { wallet: string; name: string }): void {
  localStorage.setItem(`atlas.invitedBy.${wallet}`, JSON.stringify(inviter));
}

export function invitedBy(): { wallet: string; name: string } | null {
  const wallet = session()?.wallet;
  if (!wallet) return null;
  try {
    const raw = localStorage.getItem(`atlas.invitedBy.${wallet}`);
    return raw ? (JSON.parse(raw) as { wallet: string; name: string }) : null;
  } catch {
    return null;
  }
}
