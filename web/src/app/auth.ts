// Sign-In with Ethereum: wallet account → server challenge (the full EIP-4361 text, bound to this
// origin) → personal_sign → connect-wallet. The app never builds the SIWE text itself, so what the
// wallet shows is exactly what the server will verify.

import * as api from "../api/generated";
import { ApiError } from "../api/runtime";
import { clearReferral, pendingReferral, rememberInviter } from "./referral";
import { onSessionChange, session, signOut, startSession } from "./session";
import { toast } from "./dom";
import {
  type DiscoveredWallet,
  type Eip1193Provider,
  WalletError,
  chainId,
  currentAccounts,
  discoverWallets,
  personalSign,
  requestAccounts,
} from "./wallet";

export type SignInStep = "account" | "challenge" | "sign" | "verify";

export interface SignInResult {
  wallet: string;
  profileExists: boolean;
  referralApplied: boolean;
}

export class ChainNotAllowedError extends Error {
  constructor(
    readonly chainId: number,
    readonly allowed: number[],
  ) {
    super("This network is not accepted for sign-in.");
  }
}

let attached: DiscoveredWallet | null = null;
let detach: (() => void) | null = null;
let walletLocked = false;
const lockListeners = new Set<(locked: boolean) => void>();

export function attachedWallet(): DiscoveredWallet | null {
  return attached;
}

export function isWalletLocked(): boolean {
  return walletLocked;
}

export function onWalletLock(fn: (locked: boolean) => void): void {
  lockListeners.add(fn);
}

function setLocked(locked: boolean): void {
  walletLocked = locked;
  for (const fn of lockListeners) fn(locked);
}

/**
 * Listens to the wallet's account and chain events. A different account means a different person
 * (or identity) at the keyboard: the old session is signed out at once.
 */
function attach(wallet: DiscoveredWallet): void {
  detach?.();
  attached = wallet;
  const onAccounts = (...args: unknown[]): void => {
    const accounts = Array.isArray(args[0]) ? (args[0] as unknown[]).map((a) => String(a).toLowerCase()) : [];
    const s = session();
    if (!s) return;
    if (accounts.length === 0) {
      setLocked(true);
      return;
    }
    setLocked(false);
    if (accounts[0] !== s.wallet) {
      void signOut().then(() => toast("Your wallet switched accounts, so you were signed out."));
    }
  };
  wallet.provider.on?.("accountsChanged", onAccounts);
  detach = () => wallet.provider.removeListener?.("accountsChanged", onAccounts);
}

onSessionChange((s) => {
  if (!s) setLocked(false);
});

function allowedChains(err: ApiError): number[] {
  const raw = err.problem.allowed ?? err.problem.allowed_chain_ids ?? err.problem.chain_ids;
  const list = Array.isArray(raw) ? raw.map(Number).filter((n) => Number.isSafeInteger(n) && n > 0) : [];
  return list.length ? list : [1];
}

export async function signIn(wallet: DiscoveredWallet, onStep: (step: SignInStep) => void): Promise<SignInResult> {
  const provider: Eip1193Provider = wallet.provider;
  onStep("account");
  const address = await requestAccounts(provider);
  const chain = await chainId(provider);
  onStep("challenge");
  let challenge: api.ChallengeResponse;
  try {
    challenge = await api.challenge({ address, chain_id: chain }, { anonymous: true });
  } catch (err) {
    if (err instanceof ApiError && err.code === "chain_not_allowed") throw new ChainNotAllowedError(chain, allowedChains(err));
    throw err;
  }
  onStep("sign");
  const signature = await personalSign(provider, address, challenge.message);
  onStep("verify");
  const referral = pendingReferral();
  const body: api.ConnectWalletRequest = { message: challenge.message, signature };
  if (referral) body.referral_code = referral;
  const tokens = await api.connectWallet(body, { anonymous: true });
  clearReferral();
  if (referral && tokens.referral?.accepted) {
    // Remember who invited us for the profile's "invited by" line (the code's owner, public data).
    await api
      .getReferralCode(referral, { anonymous: true })
      .then((owner) => rememberInviter(tokens.wallet.toLowerCase(), { wallet: owner.wallet, name: owner.display_name || owner.wallet }))
      .catch(() => undefined);
  }
  startSession({
    wallet: tokens.wallet.toLowerCase(),
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    chainId: chain,
    walletRdns: wallet.info.rdns,
  });
  attach(wallet);
  return {
    wallet: tokens.wallet.toLowerCase(),
    profileExists: tokens.profile_exists,
    referralApplied: Boolean(tokens.referral?.accepted),
  };
}

/**
 * After a reload: find the wallet used to sign in and check it still shows the same account.
 * A different account signs the old session out; a locked wallet keeps the session (the tokens
 * are still valid) but signing, e.g. registering this device, waits until it is unlocked.
 */
export async function reattachWallet(): Promise<void> {
  const s = session();
  if (!s) return;
  const wallets = await discoverWallets();
  const wallet = wallets.find((w) => w.info.rdns === s.walletRdns) ?? wallets[0];
  if (!wallet) return;
  const accounts = await currentAccounts(wallet.provider);
  if (accounts.length === 0) {
    attach(wallet);
    setLocked(true);
    return;
  }
  if (accounts[0] !== s.wallet) {
    await signOut();
    toast("Your wallet is on a different account, so you were signed out.");
    return;
  }
  attach(wallet);
}

/** The provider to sign with for the signed-in account, or a WalletError saying why not. */
export async function signerFor(wallet: string): Promise<Eip1193Provider> {
  if (!attached) throw new WalletError("no_wallet", "Connect your wallet to continue.");
  const accounts = await currentAccounts(attached.provider);
  if (accounts.length === 0) throw new WalletError("locked", "Unlock your wallet to continue.");
  if (accounts[0] !== wallet) throw new WalletError("unknown", "Your wallet is on a different account.");
  return attached.provider;
}
