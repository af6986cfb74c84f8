// Wallet discovery and requests: EIP-6963 multi-wallet discovery with a window.ethereum (EIP-1193)
// fallback, plus the error vocabulary the UI needs (rejected, locked, wrong chain, missing wallet).
//
// Why EIP-6963 first: with several extensions installed, window.ethereum is whichever injected last;
// 6963 lets each wallet announce itself so the user picks. The legacy object is still offered when no
// wallet announces (older MetaMask builds, in-app browsers).

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
  isMetaMask?: boolean;
}

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface DiscoveredWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

interface AnnounceEvent extends Event {
  detail: DiscoveredWallet;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export type WalletErrorKind = "rejected" | "locked" | "pending" | "unsupported" | "chain" | "no_wallet" | "unknown";

export class WalletError extends Error {
  constructor(
    readonly kind: WalletErrorKind,
    message: string,
    readonly rpcCode?: number,
  ) {
    super(message);
    this.name = "WalletError";
  }
}

/** Maps an EIP-1193 / JSON-RPC error to the few cases the UI tells apart. */
export function walletError(err: unknown): WalletError {
  if (err instanceof WalletError) return err;
  const e = err as { code?: number; message?: string } | null;
  const code = typeof e?.code === "number" ? e.code : undefined;
  switch (code) {
    case 4001:
      return new WalletError("rejected", "You rejected the request in your wallet.", code);
    case 4100:
      return new WalletError("locked", "Your wallet is locked or has not authorised this site. Unlock it and try again.", code);
    case -32002:
      return new WalletError("pending", "Your wallet already has a request open. Finish it in the wallet window.", code);
    case 4200:
      return new WalletError("unsupported", "Your wallet does not support this request.", code);
    case 4902:
      return new WalletError("chain", "Your wallet does not know this network. Add it in the wallet first.", code);
    default:
      return new WalletError("unknown", e?.message ? `Wallet error: ${e.message}` : "The wallet request failed.", code);
  }
}

const announced = new Map<string, DiscoveredWallet>();
let listening = false;

function onAnnounce(ev: Event): void {
  const detail = (ev as AnnounceEvent).detail;
  if (!detail?.info?.uuid || typeof detail.provider?.request !== "function") return;
  announced.set(detail.info.uuid, Object.freeze({ info: { ...detail.info }, provider: detail.provider }));
}

/**
 * Finds the wallets in this browser: the EIP-6963 announcements (given `waitMs` to arrive), else
 * the injected window.ethereum labelled as MetaMask when it says so.
 */
export async function discoverWallets(waitMs = 150): Promise<DiscoveredWallet[]> {
  if (!listening) {
    window.addEventListener("eip6963:announceProvider", onAnnounce);
    listening = true;
  }
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const wallets = [...announced.values()].sort((a, b) => a.info.name.localeCompare(b.info.name));
  if (wallets.length === 0 && window.ethereum && typeof window.ethereum.request === "function") {
    const isMetaMask = Boolean(window.ethereum.isMetaMask);
    wallets.push({
      info: {
        uuid: "injected",
        name: isMetaMask ? "MetaMask" : "Browser wallet",
        icon: "",
        rdns: isMetaMask ? "io.metamask" : "injected",
      },
      provider: window.ethereum,
    });
  }
  return wallets;
}

export function isMetaMask(wallet: DiscoveredWallet): boolean {
  return wallet.info.rdns.startsWith("io.metamask") || Boolean(wallet.provider.isMetaMask);
}

export async function requestAccounts(provider: Eip1193Provider): Promise<string> {
  let accounts: unknown;
  try {
    accounts = await provider.request({ method: "eth_requestAccounts" });
  } catch (err) {
    throw walletError(err);
  }
  if (!Array.isArray(accounts) || accounts.length === 0 || typeof accounts[0] !== "string") {
    throw new WalletError("locked", "Your wallet returned no account. Unlock it and try again.");
  }
  return accounts[0].toLowerCase();
}

/** The accounts the site may already see, without prompting (empty when locked or not authorised). */
export async function currentAccounts(provider: Eip1193Provider): Promise<string[]> {
  try {
    const accounts = await provider.request({ method: "eth_accounts" });
    return Array.isArray(accounts) ? accounts.map((a) => String(a).toLowerCase()) : [];
  } catch {
    return [];
  }
}

export async function chainId(provider: Eip1193Provider): Promise<number> {
  try {
    const id = await provider.request({ method: "eth_chainId" });
    const n = typeof id === "string" ? Number.parseInt(id, id.startsWith("0x") ? 16 : 10) : Number(id);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`bad chain id ${String(id)}`);
    return n;
  } catch (err) {
    throw walletError(err);
  }
}

export async function switchChain(provider: Eip1193Provider, id: number): Promise<void> {
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: `0x${id.toString(16)}` }] });
  } catch (err) {
    throw walletError(err);
  }
}

function utf8Hex(text: string): string {
  let hex = "0x";
  for (const byte of new TextEncoder().encode(text)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** EIP-191 personal_sign of UTF-8 text; params are [data, address] as MetaMask expects. */
export async function personalSign(provider: Eip1193Provider, address: string, text: string): Promise<string> {
  let signature: unknown;
  try {
    signature = await provider.request({ method: "personal_sign", params: [utf8Hex(text), address] });
  } catch (err) {
    throw walletError(err);
  }
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new WalletError("unknown", "The wallet returned a malformed signature.");
  }
  return signature;
}

export const CHAIN_NAMES: Record<number, string> = {
  1: "Ethereum",
  10: "Optimism",
  137: "Polygon",
  8453: "Base",
  42161: "Arbitrum One",
  11155111: "Sepolia",
};

export function chainName(id: number): string {
  return CHAIN_NAMES[id] ?? `chain ${id}`;
}

/**
 * WalletConnect v2 hook, off by default. It needs a project id and WalletConnect's public relay
 * (a third-party service the app would talk to), so it is offered only when a deployment sets
 * `<meta name="atlas-walletconnect-project-id" content="…">`; the connector itself is loaded by
 * the deployment (see docs/web.md). Returns the configured id or null.
 */
export function walletConnectProjectId(): string | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="atlas-walletconnect-project-id"]');
  const id = meta?.content.trim() ?? "";
  return /^[0-9a-f]{32}$/i.test(id) ? id : null;
}
