/**
 * Double Ratchet (Signal spec) with the ATLAS KDFs, plus session setup on top of X3DH.
 *
 *   KDF_RK(rk, dh)  = HKDF(salt = rk, ikm = dh, info = "ATLAS-E2E-v1/root", 64) → (rk', ck)
 *   KDF_CK(ck)      = (mk = HMAC(ck, 0x01), ck' = HMAC(ck, 0x02))
 *   message keys    = HKDF(salt = 0^32, ikm = mk, info = "ATLAS-E2E-v1/message", 44) → key ‖ nonce
 *   AEAD AD         = session AD ‖ u32(len(context)) ‖ context ‖ header
 *
 * Every operation is functional: it works on a copy and returns the new session, so a failed
 * decryption (bad tag, replay, too many skipped keys) leaves the caller's stored state untouched.
 */
import { type Bytes, concat, equalBytes, type Rng, systemRng, toHex, u32, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import type { Prekey } from './keys.js';
import type { VerifiedBundle } from './keys.js';
import { pad, unpad } from './padding.js';
import {
  chachaOpen,
  chachaSeal,
  dh,
  generateX25519,
  hkdfSha256,
  hmacSha256Keyed,
  INFO_MESSAGE,
  INFO_ROOT,
  type KeyPair,
  ZERO32,
} from './primitives.js';
import {
  decodeBody,
  type DecodedBody,
  type DecodedPrekeyMessage,
  encodeHeader,
  encodeMessageBody,
  encodePrekeyBody,
  type Header,
  type PayloadKind,
} from './wire.js';
import { x3dhInitiator, x3dhResponder } from './x3dh.js';

/** Most skipped message keys one session stores; a message needing more is rejected. */
export const MAX_SKIP = 1000;
/** Retired remote ratchet keys remembered only to report late duplicates as `replay`. */
const MAX_RETIRED_REMOTE_KEYS = 32;

export interface PendingPrekey {
  readonly identityKey: Bytes;
  readonly ephemeralKey: Bytes;
  readonly signedPrekeyId: number;
  readonly oneTimePrekeyId: number | null;
}

export interface Session {
  readonly version: 1;
  readonly role: 'initiator' | 'responder';
  /** PROTOCOL ‖ IK_initiator ‖ IK_responder. */
  readonly associatedData: Bytes;
  readonly localIdentityKey: Bytes;
  readonly remoteIdentityKey: Bytes;
  rootKey: Bytes;
  /** DHs. */
  sendingRatchetKey: KeyPair;
  /** DHr (null until the responder receives the first message — never, in practice). */
  remoteRatchetKey: Bytes | null;
  sendingChainKey: Bytes | null;
  receivingChainKey: Bytes | null;
  /** Ns, Nr, PN. */
  sendCount: number;
  receiveCount: number;
  previousSendCount: number;
  /** Skipped message keys, keyed `${hex(dh)}:${n}`, in insertion order. */
  skipped: Map<string, Bytes>;
  retiredRemoteKeys: Bytes[];
  /** Initiator: the X3DH prefix to send until any reply has been decrypted. */
  pendingPrekey: PendingPrekey | null;
  /** Responder: EK_A of the X3DH that created this session (to spot a retransmitted first message). */
  readonly remoteEphemeralKey: Bytes | null;
}

export interface RatchetOptions {
  /** Randomness for the next ratchet key pair (default: crypto.getRandomValues). */
  rng?: Rng;
  /** Use exactly this private key for the next ratchet key pair (test vectors). */
  ratchetPrivateKey?: Bytes;
}

function nextRatchetKey(opts: RatchetOptions): KeyPair {
  if (opts.ratchetPrivateKey) return generateX25519(() => Uint8Array.from(opts.ratchetPrivateKey as Bytes));
  return generateX25519(opts.rng ?? systemRng);
}

export function kdfRoot(rootKey: Bytes, dhOut: Bytes): [Bytes, Bytes] {
  const out = hkdfSha256(dhOut, rootKey, INFO_ROOT, 64);
  return [out.slice(0, 32), out.slice(32, 64)];
}

/** Returns [next chain key, message key]. */
export function kdfChain(chainKey: Bytes): [Bytes, Bytes] {
  // One keyed HMAC state, cloned: both outputs share the key schedule.
  const base = hmacSha256Keyed(chainKey);
  const mk = base.clone().update(Uint8Array.of(0x01)).digest();
  return [base.update(Uint8Array.of(0x02)).digest(), mk];
}

export function messageKeyMaterial(messageKey: Bytes): { key: Bytes; nonce: Bytes } {
  const out = hkdfSha256(messageKey, ZERO32, INFO_MESSAGE, 44);
  return { key: out.slice(0, 32), nonce: out.slice(32, 44) };
}

/** UTF-8 of "<conversation_id>|<sender_device_id>|<recipient_device_id>" (UUIDs lowercased). */
export function messageContext(conversationId: string, senderDeviceId: string, recipientDeviceId: string): Bytes {
  return utf8(`${conversationId}|${senderDeviceId}|${recipientDeviceId}`.toLowerCase());
}

export function aeadAssociatedData(sessionAd: Bytes, context: Bytes, headerBytes: Bytes): Bytes {
  return concat(sessionAd, u32(context.length), context, headerBytes);
}

function cloneSession(s: Session): Session {
  return { ...s, skipped: new Map(s.skipped), retiredRemoteKeys: [...s.retiredRemoteKeys] };
}

function skippedKey(dhPub: Bytes, n: number): string {
  return `${toHex(dhPub)}:${n}`;
}

// ---------------------------------------------------------------------------------------------
// Session setup

export interface InitiateOptions {
  rng?: Rng;
  /** EK_A private key (test vectors); default fresh. */
  ephemeralPrivateKey?: Bytes;
  /** First DHs private key (test vectors); default fresh. */
  ratchetPrivateKey?: Bytes;
}

/** Result of X3DH + ratchet init on the initiator side; the session sends "prekey" bodies until a reply. */
export function initiateSession(identity: KeyPair, bundle: VerifiedBundle, opts: InitiateOptions = {}): Session {
  const rng = opts.rng ?? systemRng;
  const ephemeral = opts.ephemeralPrivateKey
    ? generateX25519(() => Uint8Array.from(opts.ephemeralPrivateKey as Bytes))
    : generateX25519(rng);
  const { sharedKey, associatedData } = x3dhInitiator(
    identity,
    ephemeral,
    bundle.identityKey,
    bundle.signedPrekey,
    bundle.oneTimePrekey,
  );
  const dhs = nextRatchetKey({ rng, ...(opts.ratchetPrivateKey ? { ratchetPrivateKey: opts.ratchetPrivateKey } : {}) });
  const [rootKey, sendingChainKey] = kdfRoot(sharedKey, dh(dhs.privateKey, bundle.signedPrekey));
  return {
    version: 1,
    role: 'initiator',
    associatedData,
    localIdentityKey: identity.publicKey,
    remoteIdentityKey: bundle.identityKey,
    rootKey,
    sendingRatchetKey: dhs,
    remoteRatchetKey: bundle.signedPrekey,
    sendingChainKey,
    receivingChainKey: null,
    sendCount: 0,
    receiveCount: 0,
    previousSendCount: 0,
    skipped: new Map(),
    retiredRemoteKeys: [],
    pendingPrekey: {
      identityKey: identity.publicKey,
      ephemeralKey: ephemeral.publicKey,
      signedPrekeyId: bundle.signedPrekeyId,
      oneTimePrekeyId: bundle.oneTimePrekeyId,
    },
    remoteEphemeralKey: null,
  };
}

/** Responder state right after X3DH: DHs = SPK_B, RK = SK, no chains yet. */
export function responderSession(
  identity: KeyPair,
  signedPrekey: KeyPair,
  oneTimePrekey: KeyPair | null,
  remoteIdentity: Bytes,
  remoteEphemeral: Bytes,
): Session {
  const { sharedKey, associatedData } = x3dhResponder(identity, signedPrekey, oneTimePrekey, remoteIdentity, remoteEphemeral);
  return {
    version: 1,
    role: 'responder',
    associatedData,
    localIdentityKey: identity.publicKey,
    remoteIdentityKey: remoteIdentity,
    rootKey: sharedKey,
    sendingRatchetKey: { privateKey: Uint8Array.from(signedPrekey.privateKey), publicKey: Uint8Array.from(signedPrekey.publicKey) },
    remoteRatchetKey: null,
    sendingChainKey: null,
    receivingChainKey: null,
    sendCount: 0,
    receiveCount: 0,
    previousSendCount: 0,
    skipped: new Map(),
    retiredRemoteKeys: [],
    pendingPrekey: null,
    remoteEphemeralKey: Uint8Array.from(remoteEphemeral),
  };
}

// ---------------------------------------------------------------------------------------------
// Encrypt / decrypt

export interface EncryptResult {
  readonly session: Session;
  readonly kind: PayloadKind;
  /** The wire body (base64 it into the envelope payload). */
  readonly body: Bytes;
}

/** Pad and encrypt `plaintext` (bytes; see encodeContent) for one recipient device. */
export function encrypt(session: Session, plaintext: Bytes, context: Bytes): EncryptResult {
  if (!session.sendingChainKey) {
    throw new CryptoError('session_mismatch', 'this session cannot send before it has received a message');
  }
  const s = cloneSession(session);
  const [ck, mk] = kdfChain(s.sendingChainKey as Bytes);
  const header: Header = { dh: s.sendingRatchetKey.publicKey, pn: s.previousSendCount, n: s.sendCount };
  const headerBytes = encodeHeader(header);
  s.sendingChainKey = ck;
  s.sendCount += 1;
  const { key, nonce } = messageKeyMaterial(mk);
  const ciphertext = chachaSeal(key, nonce, pad(plaintext), aeadAssociatedData(s.associatedData, context, headerBytes));
  if (s.pendingPrekey) {
    return { session: s, kind: 'prekey', body: encodePrekeyBody(s.pendingPrekey, headerBytes, ciphertext) };
  }
  return { session: s, kind: 'message', body: encodeMessageBody(headerBytes, ciphertext) };
}

export interface DecryptResult {
  readonly session: Session;
  /** Unpadded plaintext bytes (see decodeContent). */
  readonly plaintext: Bytes;
}

function openWith(s: Session, mk: Bytes, msg: DecodedBody, context: Bytes): Bytes {
  const { key, nonce } = messageKeyMaterial(mk);
  const padded = chachaOpen(key, nonce, msg.ciphertext, aeadAssociatedData(s.associatedData, context, msg.headerBytes));
  return unpad(padded);
}

/** Derive and store skipped keys of the current receiving chain up to (excluding) `until`. */
function skipMessageKeys(s: Session, until: number): void {
  if (!s.receivingChainKey || !s.remoteRatchetKey || until <= s.receiveCount) return;
  s.receivingChainKey = skipChain(s, s.receivingChainKey, s.remoteRatchetKey, s.receiveCount, until);
  s.receiveCount = until;
}

/** Store the message keys of chain `ck` (of ratchet key `dhPub`) for n in [start, until); returns the chain key at `until`. */
function skipChain(s: Session, ck: Bytes, dhPub: Bytes, start: number, until: number): Bytes {
  if (until <= start) return ck;
  if (s.skipped.size + (until - start) > MAX_SKIP) {
    throw new CryptoError('too_many_skipped', `message would need more than ${MAX_SKIP} stored skipped keys`);
  }
  for (let i = start; i < until; i++) {
    const [next, mk] = kdfChain(ck);
    s.skipped.set(skippedKey(dhPub, i), mk);
    ck = next;
  }
  return ck;
}

function ratchetDecrypt(session: Session, msg: DecodedBody, context: Bytes, opts: RatchetOptions): DecryptResult {
  // All changes go to a copy; it is returned only once the AEAD tag has verified.
  const s = cloneSession(session);
  const { header } = msg;
  const sk = skippedKey(header.dh, header.n);
  const stored = s.skipped.get(sk);
  if (stored) {
    const plaintext = openWith(s, stored, msg, context);
    s.skipped.delete(sk);
    s.pendingPrekey = null;
    return { session: s, plaintext };
  }
  if (s.remoteRatchetKey && equalBytes(header.dh, s.remoteRatchetKey)) {
    if (!s.receivingChainKey || header.n < s.receiveCount) throw new CryptoError('replay', 'message already received');
    skipMessageKeys(s, header.n);
    const [ck, mk] = kdfChain(s.receivingChainKey as Bytes);
    const plaintext = openWith(s, mk, msg, context);
    s.receivingChainKey = ck;
    s.receiveCount += 1;
    s.pendingPrekey = null;
    return { session: s, plaintext };
  }
  // A new ratchet key from the peer: finish the current receiving chain, then a DH ratchet step.
  if (s.retiredRemoteKeys.some((k) => equalBytes(k, header.dh))) {
    throw new CryptoError('replay', 'message already received (or its key was discarded)');
  }
  if (equalBytes(header.dh, s.sendingRatchetKey.publicKey)) {
    throw new CryptoError('session_mismatch', 'message carries our own ratchet key');
  }
  skipMessageKeys(s, header.pn);
  const [rk, ckr0] = kdfRoot(s.rootKey, dh(s.sendingRatchetKey.privateKey, header.dh));
  const ckr = skipChain(s, ckr0, header.dh, 0, header.n);
  const [ck, mk] = kdfChain(ckr);
  const plaintext = openWith(s, mk, msg, context);
  // Authentic: commit the step and derive our next sending chain (the new key pair is drawn only now,
  // so failed attempts never consume randomness — this keeps test-vector key order deterministic).
  if (s.remoteRatchetKey) {
    s.retiredRemoteKeys.push(s.remoteRatchetKey);
    if (s.retiredRemoteKeys.length > MAX_RETIRED_REMOTE_KEYS) s.retiredRemoteKeys.shift();
  }
  const next = nextRatchetKey(opts);
  const [rk2, cks] = kdfRoot(rk, dh(next.privateKey, header.dh));
  s.previousSendCount = s.sendCount;
  s.sendCount = 0;
  s.receiveCount = header.n + 1;
  s.remoteRatchetKey = header.dh;
  s.rootKey = rk2;
  s.receivingChainKey = ck;
  s.sendingChainKey = cks;
  s.sendingRatchetKey = next;
  s.pendingPrekey = null;
  return { session: s, plaintext };
}

/**
 * Decrypt a body received in an existing session. A "prekey" body is accepted only if it belongs
 * to this session (same initiator identity and ephemeral key) — i.e. a later message from an
 * initiator that has not yet seen our reply, or a duplicate (→ `replay`).
 */
export function decrypt(
  session: Session,
  kind: PayloadKind,
  body: Bytes | DecodedBody,
  context: Bytes,
  opts: RatchetOptions = {},
): DecryptResult {
  const msg = body instanceof Uint8Array ? decodeBody(kind, body) : body;
  if (msg.kind === 'prekey') {
    if (
      !session.remoteEphemeralKey ||
      !equalBytes(session.remoteEphemeralKey, msg.ephemeralKey) ||
      !equalBytes(session.remoteIdentityKey, msg.identityKey)
    ) {
      throw new CryptoError('session_mismatch', 'prekey message belongs to a different session');
    }
  }
  return ratchetDecrypt(session, msg, context, opts);
}

export interface AcceptPrekeyParams extends RatchetOptions {
  identity: KeyPair;
  /** Signed prekeys this device still accepts (current and recently rotated). */
  signedPrekeys: readonly Prekey[];
  /** One-time prekeys not yet consumed. */
  oneTimePrekeys: readonly Prekey[];
  /** The stored session with the sending device, if any. */
  existing: Session | null;
  body: Bytes | DecodedPrekeyMessage;
  context: Bytes;
  /** The sender device's verified identity key; when given, a different IK_A is refused. */
  expectedRemoteIdentity?: Bytes;
}

export interface AcceptPrekeyResult extends DecryptResult {
  /** True when a new session replaced (or created) the stored one. */
  readonly isNewSession: boolean;
  /** The one-time prekey this message consumed: delete it from storage (null if none / existing session). */
  readonly usedOneTimePrekeyId: number | null;
}

/**
 * Responder entry point for a "prekey" body: continues the existing session when the body comes
 * from the same X3DH (same IK_A and EK_A; a duplicate → `replay`), otherwise runs X3DH and starts a
 * new session (the caller replaces the stored one only after this returns).
 */
export function acceptPrekeyMessage(p: AcceptPrekeyParams): AcceptPrekeyResult {
  const msg = p.body instanceof Uint8Array ? (decodeBody('prekey', p.body) as DecodedPrekeyMessage) : p.body;
  if (p.expectedRemoteIdentity && !equalBytes(p.expectedRemoteIdentity, msg.identityKey)) {
    throw new CryptoError('session_mismatch', 'prekey message identity key does not match the sender device');
  }
  const opts: RatchetOptions = {};
  if (p.rng) opts.rng = p.rng;
  if (p.ratchetPrivateKey) opts.ratchetPrivateKey = p.ratchetPrivateKey;
  const ex = p.existing;
  if (
    ex?.remoteEphemeralKey &&
    equalBytes(ex.remoteEphemeralKey, msg.ephemeralKey) &&
    equalBytes(ex.remoteIdentityKey, msg.identityKey)
  ) {
    const r = ratchetDecrypt(ex, msg, p.context, opts);
    return { ...r, isNewSession: false, usedOneTimePrekeyId: null };
  }
  const spk = p.signedPrekeys.find((k) => k.keyId === msg.signedPrekeyId);
  if (!spk) throw new CryptoError('unknown_prekey', `unknown signed prekey ${msg.signedPrekeyId}`);
  let opk: Prekey | null = null;
  if (msg.oneTimePrekeyId !== null) {
    opk = p.oneTimePrekeys.find((k) => k.keyId === msg.oneTimePrekeyId) ?? null;
    if (!opk) throw new CryptoError('unknown_prekey', `unknown or used one-time prekey ${msg.oneTimePrekeyId}`);
  }
  const fresh = responderSession(p.identity, spk.keyPair, opk?.keyPair ?? null, msg.identityKey, msg.ephemeralKey);
  const r = ratchetDecrypt(fresh, msg, p.context, opts);
  return { ...r, isNewSession: true, usedOneTimePrekeyId: opk?.keyId ?? null };
}
