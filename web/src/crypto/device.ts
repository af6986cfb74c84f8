/**
 * The client-side device: its keys, its sessions with peer devices, and encrypt/decrypt of
 * CONTRACT §4 payloads. Network-free (the app does the HTTP/WebSocket calls) and wallet-free (the
 * app asks the wallet to sign `bindingStatement()` / `backupStatement()` and passes the signature).
 *
 * Same semantics as the Python SDK's `atlas.client.e2e.device.Device`: per peer device one active
 * session plus up to 5 archived ones; a prekey message from an identity key not verified for the
 * sender device is refused; a replayed first message is refused even after its session is gone.
 *
 * State round-trips through `toJSON()` / `E2EDevice.fromJSON()` (plain JSON, base64 bytes), which the
 * app stores (IndexedDB) after every successful encrypt/decrypt. It holds private keys.
 */
import { type Bytes, equalBytes, fromBase64, type Rng, systemRng, toBase64 } from './bytes.js';
import { CryptoError } from './errors.js';
import {
  type DevicePublication,
  deviceBindingText,
  normalizeAccount,
  normalizeDeviceId,
  type Prekey,
  signPrekey,
  type VerifiedBundle,
  type VerifiedDevice,
} from './keys.js';
import { backupStatement, type BackupKeys } from './backup.js';
import { decodeContent, encodeContent, type MessageContent } from './plaintext.js';
import { ed25519KeyPair, type KeyPair, x25519KeyPair } from './primitives.js';
import {
  acceptPrekeyMessage,
  decrypt as sessionDecrypt,
  encrypt as sessionEncrypt,
  initiateSession,
  messageContext,
  type Session,
} from './ratchet.js';
import { safetyNumber } from './safety.js';
import { sessionFromJson, type SessionJson, sessionToJson } from './serialize.js';
import { decodeBody, type DecodedPrekeyMessage, type PayloadKind } from './wire.js';

export const MAX_ARCHIVED = 5;
export const OPK_BATCH = 100;
export const OPK_LOW_WATER = 20;
export const SPK_ROTATE_AFTER_MS = 7 * 24 * 3600 * 1000;
export const SPK_KEEP_PREVIOUS_MS = 14 * 24 * 3600 * 1000;
export const MAX_SEEN_EPHEMERALS = 100_000;

/** One envelope payload (CONTRACT §4). */
export interface Payload {
  device_id: string;
  kind: PayloadKind;
  body: string;
}

export interface Decrypted {
  readonly message: MessageContent;
  readonly plaintext: Bytes;
  readonly senderWallet: string;
  readonly senderDevice: string;
  readonly kind: PayloadKind;
  /** A prekey message started a new session. */
  readonly newSession: boolean;
  /** The sender device's identity key changed and the user has not acknowledged it. */
  readonly identityChanged: boolean;
}

export interface IdentityWarning {
  readonly wallet: string;
  readonly deviceId: string;
  readonly oldIdentityKey: Bytes;
  readonly newIdentityKey: Bytes;
}

interface StoredSignedPrekey extends Prekey {
  /** RFC 3339. */
  readonly createdAt: string;
}

export interface E2EDeviceJson {
  v: 1;
  wallet: string;
  device_id: string;
  identity: string;
  signing: string;
  spk: { key_id: number; private: string; created_at: string };
  previous_spks: { key_id: number; private: string; created_at: string }[];
  opks: Record<string, string>;
  next_key_id: number;
  sessions: { wallet: string; device_id: string; sessions: SessionJson[] }[];
  known: { wallet: string; device_id: string; identity_key: string }[];
  identity_warnings: { wallet: string; device_id: string; old_identity_key: string; new_identity_key: string }[];
  seen_ephemerals: string[];
}

const peerKey = (wallet: string, deviceId: string): string => `${normalizeAccount(wallet)}/${normalizeDeviceId(deviceId)}`;
const splitPeer = (key: string): [string, string] => {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface E2EDeviceOptions {
  rng?: Rng;
  now?: Date;
}

export class E2EDevice {
  readonly wallet: string;
  readonly deviceId: string;
  readonly identity: KeyPair;
  readonly signing: KeyPair;
  private spk: StoredSignedPrekey;
  private previousSpks: StoredSignedPrekey[] = [];
  private readonly opks = new Map<number, KeyPair>();
  private nextKeyId: number;
  private readonly sessions = new Map<string, Session[]>();
  private readonly known = new Map<string, Bytes>();
  identityWarnings: IdentityWarning[] = [];
  private readonly seenEphemerals = new Set<string>();
  /** Randomness for keys and ratchet steps (replaceable for tests; not serialized). */
  rng: Rng;

  private constructor(
    wallet: string,
    deviceId: string,
    identity: KeyPair,
    signing: KeyPair,
    spk: StoredSignedPrekey,
    nextKeyId: number,
    rng: Rng,
  ) {
    this.wallet = normalizeAccount(wallet);
    this.deviceId = normalizeDeviceId(deviceId);
    this.identity = identity;
    this.signing = signing;
    this.spk = spk;
    this.nextKeyId = nextKeyId;
    this.rng = rng;
  }

  /** Fresh keys for a new device (`deviceId` default: a random UUID v4). */
  static generate(wallet: string, deviceId?: string, opts: E2EDeviceOptions = {}): E2EDevice {
    const rng = opts.rng ?? systemRng;
    const id = deviceId ?? randomUuid(rng);
    const identity = x25519KeyPair(rng(32));
    const signing = ed25519KeyPair(rng(32));
    const spk = { keyId: 1, keyPair: x25519KeyPair(rng(32)), createdAt: rfc3339(opts.now ?? new Date()) };
    return new E2EDevice(wallet, id, identity, signing, spk, 2, rng);
  }

  // -- keys and registration -------------------------------------------------------------------

  get signedPrekeyId(): number {
    return this.spk.keyId;
  }

  get oneTimePrekeyCount(): number {
    return this.opks.size;
  }

  /** The text the wallet must personal_sign to bind this device (CONTRACT §5). */
  bindingStatement(issuedAt: string): string {
    return deviceBindingText({
      wallet: this.wallet,
      deviceId: this.deviceId,
      identityKey: toBase64(this.identity.publicKey),
      signingKey: toBase64(this.signing.publicKey),
      issuedAt,
    });
  }

  private spkJson(): DevicePublication['signed_prekey'] {
    const pub = this.spk.keyPair.publicKey;
    return { key_id: this.spk.keyId, public_key: toBase64(pub), signature: toBase64(signPrekey(this.signing, pub)) };
  }

  /** New one-time prekeys (kept privately); returns their public halves for upload. */
  generateOneTimePrekeys(count: number = OPK_BATCH): { key_id: number; public_key: string }[] {
    const out: { key_id: number; public_key: string }[] = [];
    for (let i = 0; i < count; i++) {
      const keyId = this.nextKeyId++;
      const kp = x25519KeyPair(this.rng(32));
      this.opks.set(keyId, kp);
      out.push({ key_id: keyId, public_key: toBase64(kp.publicKey) });
    }
    return out;
  }

  /**
   * The `PUT /v1/devices/{device_id}` body. `bindingSignature` is the wallet's personal_sign over
   * `bindingStatement(issuedAt)`, with the same `issuedAt`.
   */
  registrationBody(bindingSignature: string, issuedAt: string, oneTimePrekeys: number = OPK_BATCH): DevicePublication {
    return {
      identity_key: toBase64(this.identity.publicKey),
      signing_key: toBase64(this.signing.publicKey),
      binding_signature: bindingSignature,
      issued_at: issuedAt,
      signed_prekey: this.spkJson(),
      one_time_prekeys: this.generateOneTimePrekeys(oneTimePrekeys),
    };
  }

  /** A new signed prekey; the previous one stays usable for in-flight prekey messages (14 days). */
  rotateSignedPrekey(now: Date = new Date()): DevicePublication['signed_prekey'] {
    const t = now.getTime();
    this.previousSpks = this.previousSpks.filter(
      (s) => t - Date.parse(s.createdAt) < SPK_KEEP_PREVIOUS_MS + SPK_ROTATE_AFTER_MS,
    );
    this.previousSpks.unshift(this.spk);
    this.spk = { keyId: this.nextKeyId++, keyPair: x25519KeyPair(this.rng(32)), createdAt: rfc3339(now) };
    return this.spkJson();
  }

  spkDue(now: Date = new Date()): boolean {
    return now.getTime() - Date.parse(this.spk.createdAt) >= SPK_ROTATE_AFTER_MS;
  }

  /** The `POST /v1/devices/{device_id}/prekeys` body. */
  prekeysBody(opts: { oneTimePrekeys?: number; rotateSignedPrekey?: boolean; now?: Date } = {}): {
    one_time_prekeys: { key_id: number; public_key: string }[];
    signed_prekey?: DevicePublication['signed_prekey'];
  } {
    const body: ReturnType<E2EDevice['prekeysBody']> = {
      one_time_prekeys: this.generateOneTimePrekeys(opts.oneTimePrekeys ?? 0),
    };
    if (opts.rotateSignedPrekey) body.signed_prekey = this.rotateSignedPrekey(opts.now);
    return body;
  }

  // -- peers -----------------------------------------------------------------------------------

  /**
   * Record a *verified* device's identity key (from verifyDeviceRecord / verifyPrekeyBundle).
   * Returns true when it changed: sessions with that device are dropped and a warning recorded.
   */
  trust(record: VerifiedDevice): boolean {
    const key = peerKey(record.wallet, record.deviceId);
    const old = this.known.get(key);
    this.known.set(key, record.identityKey);
    if (!old || equalBytes(old, record.identityKey)) return false;
    this.sessions.delete(key);
    const [wallet, deviceId] = splitPeer(key);
    this.identityWarnings.push({ wallet, deviceId, oldIdentityKey: old, newIdentityKey: record.identityKey });
    return true;
  }

  isTrusted(wallet: string, deviceId: string): boolean {
    return this.known.has(peerKey(wallet, deviceId));
  }

  identityChanged(wallet: string, deviceId: string): boolean {
    const key = peerKey(wallet, deviceId);
    return this.identityWarnings.some((w) => `${w.wallet}/${w.deviceId}` === key);
  }

  acknowledgeIdentity(wallet: string, deviceId: string): void {
    const key = peerKey(wallet, deviceId);
    this.identityWarnings = this.identityWarnings.filter((w) => `${w.wallet}/${w.deviceId}` !== key);
  }

  /** A peer device was revoked: drop its sessions and its key. */
  forgetDevice(wallet: string, deviceId: string): void {
    const key = peerKey(wallet, deviceId);
    this.sessions.delete(key);
    this.known.delete(key);
  }

  hasSession(wallet: string, deviceId: string): boolean {
    return (this.sessions.get(peerKey(wallet, deviceId))?.length ?? 0) > 0;
  }

  /** X3DH as initiator from a verified bundle; the new session becomes the active one. */
  startSession(bundle: VerifiedBundle): void {
    this.trust(bundle);
    const session = initiateSession(this.identity, bundle, { rng: this.rng });
    this.activate(peerKey(bundle.wallet, bundle.deviceId), session, null);
  }

  private activate(key: string, session: Session, replaced: Session | null): void {
    const stack = (this.sessions.get(key) ?? []).filter((s) => s !== replaced);
    stack.unshift(session);
    this.sessions.set(key, stack.slice(0, 1 + MAX_ARCHIVED));
  }

  /** 60-digit safety number with a peer device whose identity key is known. */
  safetyNumber(wallet: string, deviceId: string): string {
    const key = peerKey(wallet, deviceId);
    const ik = this.known.get(key);
    if (!ik) throw new CryptoError('no_session', `no verified identity for ${key}`);
    return safetyNumber(this.wallet, this.identity.publicKey, splitPeer(key)[0], ik);
  }

  // -- messages --------------------------------------------------------------------------------

  /** Encrypt plaintext bytes for one peer device in its active session. */
  encryptTo(conversationId: string, wallet: string, deviceId: string, plaintext: Bytes): Payload {
    const key = peerKey(wallet, deviceId);
    const stack = this.sessions.get(key);
    if (!stack?.length) throw new CryptoError('no_session', `no session with ${key}`);
    const recipient = splitPeer(key)[1];
    const ctx = messageContext(conversationId, this.deviceId, recipient);
    const r = sessionEncrypt(stack[0] as Session, plaintext, ctx);
    stack[0] = r.session;
    return { device_id: recipient, kind: r.kind, body: toBase64(r.body) };
  }

  /**
   * One payload per recipient device; needs a session with each (throws `no_session` naming the
   * first one missing, before encrypting anything).
   */
  encryptFor(conversationId: string, recipients: readonly { wallet: string; deviceId: string }[], message: MessageContent): Payload[] {
    for (const r of recipients) {
      if (!this.hasSession(r.wallet, r.deviceId)) {
        throw new CryptoError('no_session', `no session with ${peerKey(r.wallet, r.deviceId)}`);
      }
    }
    const plaintext = encodeContent(message);
    return recipients.map((r) => this.encryptTo(conversationId, r.wallet, r.deviceId, plaintext));
  }

  /** Decrypt one payload addressed to this device. Never changes state on failure. */
  decrypt(conversationId: string, senderWallet: string, senderDevice: string, payload: { device_id?: string; kind: string; body: string }): Decrypted {
    const key = peerKey(senderWallet, senderDevice);
    const [wallet, device] = splitPeer(key);
    if (payload.device_id !== undefined && payload.device_id !== null && normalizeDeviceId(String(payload.device_id)) !== this.deviceId) {
      throw new CryptoError('session_mismatch', 'payload is addressed to another device');
    }
    let body: Bytes;
    try {
      body = fromBase64(payload.body);
    } catch {
      throw new CryptoError('invalid_encoding', 'body is not base64');
    }
    const ctx = messageContext(conversationId, device, this.deviceId);
    let plaintext: Bytes;
    let newSession = false;
    if (payload.kind === 'prekey') {
      [plaintext, newSession] = this.decryptPrekey(key, body, ctx);
    } else if (payload.kind === 'message') {
      plaintext = this.decryptMessage(key, body, ctx);
    } else {
      throw new CryptoError('invalid_encoding', 'unknown payload kind');
    }
    return {
      message: decodeContent(plaintext),
      plaintext,
      senderWallet: wallet,
      senderDevice: device,
      kind: payload.kind,
      newSession,
      identityChanged: this.identityChanged(wallet, device),
    };
  }

  private decryptMessage(key: string, body: Bytes, ctx: Bytes): Bytes {
    const msg = decodeBody('message', body);
    const stack = this.sessions.get(key);
    if (!stack?.length) throw new CryptoError('no_session', `no session with ${key}`);
    let last: unknown = null;
    for (const s of stack) {
      try {
        const r = sessionDecrypt(s, 'message', msg, ctx, { rng: this.rng });
        this.activate(key, r.session, s);
        return r.plaintext;
      } catch (e) {
        last = e;
      }
    }
    throw last ?? new CryptoError('decrypt_failed', 'no session decrypts this message');
  }

  private decryptPrekey(key: string, body: Bytes, ctx: Bytes): [Bytes, boolean] {
    const msg = decodeBody('prekey', body) as DecodedPrekeyMessage;
    const known = this.known.get(key);
    if (!known || !equalBytes(known, msg.identityKey)) {
      throw new CryptoError('unknown_device', `identity of ${key} is not verified: fetch and verify its device list, trust() it, retry`);
    }
    const stack = this.sessions.get(key) ?? [];
    for (const s of stack) {
      if (s.remoteEphemeralKey && equalBytes(s.remoteEphemeralKey, msg.ephemeralKey)) {
        const r = sessionDecrypt(s, 'prekey', msg, ctx, { rng: this.rng });
        this.activate(key, r.session, s);
        return [r.plaintext, false];
      }
    }
    const ekId = toBase64(msg.ephemeralKey);
    if (this.seenEphemerals.has(ekId)) {
      throw new CryptoError('replay', 'this X3DH run was already used (replayed prekey message)');
    }
    const res = acceptPrekeyMessage({
      identity: this.identity,
      signedPrekeys: [this.spk, ...this.previousSpks],
      oneTimePrekeys: [...this.opks].map(([keyId, keyPair]) => ({ keyId, keyPair })),
      existing: null,
      body: msg,
      context: ctx,
      rng: this.rng,
      expectedRemoteIdentity: known,
    });
    if (res.usedOneTimePrekeyId !== null) this.opks.delete(res.usedOneTimePrekeyId);
    this.seenEphemerals.add(ekId);
    while (this.seenEphemerals.size > MAX_SEEN_EPHEMERALS) {
      this.seenEphemerals.delete(this.seenEphemerals.values().next().value as string);
    }
    this.activate(key, res.session, null);
    return [res.plaintext, true];
  }

  // -- backup and persistence ------------------------------------------------------------------

  /** The statement the wallet signs to derive the backup key. */
  backupStatement(): string {
    return backupStatement(this.wallet);
  }

  /** The long-term keys a backup holds (pass to encryptBackup with the wallet's signature). */
  backupKeys(): BackupKeys {
    return {
      identity: this.identity.privateKey,
      signing: this.signing.privateKey,
      signedPrekey: { keyId: this.spk.keyId, privateKey: this.spk.keyPair.privateKey },
    };
  }

  /**
   * Rebuild a device from backed-up keys (see decryptBackup). Sessions and one-time prekeys are
   * not in a backup: peers' next messages start new sessions from fresh prekeys.
   */
  static restore(wallet: string, deviceId: string, keys: BackupKeys, opts: E2EDeviceOptions = {}): E2EDevice {
    const spk = {
      keyId: keys.signedPrekey.keyId,
      keyPair: x25519KeyPair(keys.signedPrekey.privateKey),
      createdAt: rfc3339(opts.now ?? new Date()),
    };
    return new E2EDevice(
      wallet,
      deviceId,
      x25519KeyPair(keys.identity),
      ed25519KeyPair(keys.signing),
      spk,
      keys.signedPrekey.keyId + 1_000_000, // stay clear of key ids handed out before the backup
      opts.rng ?? systemRng,
    );
  }

  toJSON(): E2EDeviceJson {
    const spk = (s: StoredSignedPrekey) => ({ key_id: s.keyId, private: toBase64(s.keyPair.privateKey), created_at: s.createdAt });
    const opks: Record<string, string> = {};
    for (const [id, kp] of this.opks) opks[String(id)] = toBase64(kp.privateKey);
    return {
      v: 1,
      wallet: this.wallet,
      device_id: this.deviceId,
      identity: toBase64(this.identity.privateKey),
      signing: toBase64(this.signing.privateKey),
      spk: spk(this.spk),
      previous_spks: this.previousSpks.map(spk),
      opks,
      next_key_id: this.nextKeyId,
      sessions: [...this.sessions].map(([key, stack]) => {
        const [wallet, deviceId] = splitPeer(key);
        return { wallet, device_id: deviceId, sessions: stack.map(sessionToJson) };
      }),
      known: [...this.known].map(([key, ik]) => {
        const [wallet, deviceId] = splitPeer(key);
        return { wallet, device_id: deviceId, identity_key: toBase64(ik) };
      }),
      identity_warnings: this.identityWarnings.map((w) => ({
        wallet: w.wallet,
        device_id: w.deviceId,
        old_identity_key: toBase64(w.oldIdentityKey),
        new_identity_key: toBase64(w.newIdentityKey),
      })),
      seen_ephemerals: [...this.seenEphemerals],
    };
  }

  static fromJSON(j: E2EDeviceJson, opts: { rng?: Rng } = {}): E2EDevice {
    if (!j || j.v !== 1) throw new CryptoError('invalid_encoding', 'unsupported device snapshot version');
    const spk = (s: E2EDeviceJson['spk']): StoredSignedPrekey => ({
      keyId: s.key_id,
      keyPair: x25519KeyPair(fromBase64(s.private)),
      createdAt: s.created_at,
    });
    const d = new E2EDevice(
      j.wallet,
      j.device_id,
      x25519KeyPair(fromBase64(j.identity)),
      ed25519KeyPair(fromBase64(j.signing)),
      spk(j.spk),
      j.next_key_id,
      opts.rng ?? systemRng,
    );
    d.previousSpks = j.previous_spks.map(spk);
    for (const [id, priv] of Object.entries(j.opks)) d.opks.set(Number(id), x25519KeyPair(fromBase64(priv)));
    for (const e of j.sessions) d.sessions.set(peerKey(e.wallet, e.device_id), e.sessions.map(sessionFromJson));
    for (const e of j.known) d.known.set(peerKey(e.wallet, e.device_id), fromBase64(e.identity_key));
    d.identityWarnings = j.identity_warnings.map((w) => ({
      wallet: w.wallet,
      deviceId: w.device_id,
      oldIdentityKey: fromBase64(w.old_identity_key),
      newIdentityKey: fromBase64(w.new_identity_key),
    }));
    for (const e of j.seen_ephemerals) d.seenEphemerals.add(e);
    return d;
  }
}

/** RFC 4122 version 4 UUID from the device's randomness source. */
export function randomUuid(rng: Rng = systemRng): string {
  const b = rng(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
