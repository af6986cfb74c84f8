// The signed-in session: tokens live in memory and in sessionStorage (per tab, gone with the tab),
// never in localStorage, cookies or URLs. Refresh rotates the pair; a failed refresh signs out.

import * as api from "../api/generated";
import { configureClient } from "../api/runtime";

export interface Session {
  wallet: string;
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires (refreshed a little before). */
  expiresAt: number;
  chainId: number;
  /** rdns of the wallet used, so a reload reattaches to the same one. */
  walletRdns: string;
}

const KEY = "atlas.session";
let current: Session | null = load();
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(s: Session | null) => void>();

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return typeof s.accessToken === "string" && typeof s.wallet === "string" ? s : null;
  } catch {
    return null;
  }
}

function save(): void {
  if (current) sessionStorage.setItem(KEY, JSON.stringify(current));
  else sessionStorage.removeItem(KEY);
  for (const fn of listeners) fn(current);
}

export function session(): Session | null {
  return current;
}

export function onSessionChange(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function startSession(s: Session): void {
  current = s;
  save();
}

export async function refreshTokens(): Promise<boolean> {
  if (!current) return false;
  if (refreshing) return refreshing;
  const s = current;
  refreshing = (async () => {
    try {
      const pair = await api.refresh({ refresh_token: s.refreshToken }, { anonymous: true });
      if (current !== s) return false;
      current = {
        ...s,
        accessToken: pair.access_token,
        refreshToken: pair.refresh_token,
        expiresAt: Date.now() + pair.expires_in * 1000,
      };
      save();
      return true;
    } catch {
      if (current === s) {
        current = null;
        save();
      }
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A valid access token, refreshing first when it is about to expire (for the WebSocket auth frame). */
export async function freshAccessToken(): Promise<string | null> {
  if (!current) return null;
  if (current.expiresAt - Date.now() < 30_000) await refreshTokens();
  return current?.accessToken ?? null;
}

export async function signOut(): Promise<void> {
  const s = current;
  current = null;
  save();
  if (s) {
    // Best effort: the server ends the session at once; a network failure still signs out locally.
    try {
      await api.logout({ token: s.accessToken, retried: true });
    } catch {
      /* offline: the tokens are already forgotten here */
    }
  }
}

configureClient({
  baseUrl: "",
  accessToken: () => current?.accessToken ?? null,
  refresh: refreshTokens,
});
