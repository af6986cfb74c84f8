/**
 * Device keys, the wallet binding text (CONTRACT §5) and prekey-bundle verification.
 *
 * A bundle fetched from the server is untrusted until both checks pass: the wallet binding
 * recovers to the peer's wallet, and the signed prekey carries a valid Ed25519 signature by the
 * bound signing key. `verifyPrekeyBundle` is the only way to obtain a `VerifiedBundle`, which is
 * what X3DH accepts.
 */
import { type Bytes, fromBase58, fromBase64, type Rng, systemRng, toBase64, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { personalSign, verifyPersonalSignature } from './eth.js';
import {
  ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  type KeyPair,
  x25519KeyPair,
} from './primitives.js';

export interface Prekey {
  readonly keyId: number;
  readonly keyPair: KeyPair;
}

export interface SignedPrekey extends Prekey {
  /** Ed25519 signature by the device signing key over the raw 32-byte public key. */
  readonly signature: Bytes;
}

export interface DeviceKeys {
  /** X25519 identity key IK. */
  readonly identity: KeyPair;
  /** Ed25519 signing key SigK (privateKey is the 32-byte seed). */
  readonly signing: KeyPair;
  readonly signedPrekey: SignedPrekey;
  /** Unused one-time prekeys still held; remove one once a prekey message consumed it. */
  readonly oneTimePrekeys: readonly Prekey[];
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CryptoError('invalid_encoding', `${what} must be a u32`);
}

export function signPrekey(signing: KeyPair, prekeyPublic: Bytes): Bytes {
  return ed25519Sign(signing.privateKey, prekeyPublic);
}

export function makeSignedPrekey(signing: KeyPair, keyId: number, privateKey: Bytes): SignedPrekey {
  checkU32(keyId, 'key_id');
  const keyPair = x25519KeyPair(privateKey);
  return { keyId, keyPair, signature: signPrekey(signing, keyPair.publicKey) };
}

/** One-time prekeys with ids firstId, firstId+1, …; 0xFFFFFFFF is reserved for "none". */
export function generateOneTimePrekeys(count: number, firstId: number, rng: Rng = systemRng): Prekey[] {
  const out: Prekey[] = [];
  for (let i = 0; i < count; i++) {
    const keyId = firstId + i;
    checkU32(keyId, 'key_id');
    if (keyId === 0xffffffff) throw new RangeError('key_id 0xFFFFFFFF is reserved');
    out.push({ keyId, keyPair: x25519KeyPair(rng(32)) });
  }
  return out;
}

export interface GenerateDeviceKeysOptions {
  rng?: Rng;
  signedPrekeyId?: number;
  oneTimePrekeyCount?: number;
  firstOneTimePrekeyId?: number;
}

/** Fresh keys in the order identity, signing, signed prekey, one-time prekeys (one rng(32) each). */
export function generateDeviceKeys(opts: GenerateDeviceKeysOptions = {}): DeviceKeys {
  const rng = opts.rng ?? systemRng;
  const identity = x25519KeyPair(rng(32));
  const signing = ed25519KeyPair(rng(32));
  const signedPrekey = makeSignedPrekey(signing, opts.signedPrekeyId ?? 1, rng(32));
  const oneTimePrekeys = generateOneTimePrekeys(
    opts.oneTimePrekeyCount ?? 0,
    opts.firstOneTimePrekeyId ?? 1,
    rng,
  );
  return { identity, signing, signedPrekey, oneTimePrekeys };
}

export interface BindingFields {
  wallet: string;
  deviceId: string;
  /** base64 of the X25519 identity public key, exactly as sent. */
  identityKey: string;
  /** base64 of the Ed25519 signing public key, exactly as sent. */
  signingKey: string;
  /** RFC 3339 time, exactly as sent. */
  issuedAt: string;
}

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** An EVM address is compared and shown lowercase; a Solana (base58) account is case-sensitive. */
export function normalizeAccount(wallet: string): string {
  return EVM_ADDRESS.test(wallet) ? wallet.toLowerCase() : wallet;
}

/** The exact text the wallet signs (CONTRACT §5): lines joined by "\n", no trailing newline. */
export function deviceBindingText(f: BindingFields): string {
  return [
    'ATLAS device key binding',
    `Account: ${normalizeAccount(f.wallet)}`,
    `Device: ${f.deviceId}`,
    `Identity key: ${f.identityKey}`,
    `Signing key: ${f.signingKey}`,
    `Issued At: ${f.issuedAt}`,
  ].join('\n');
}

export function bindingTextForKeys(keys: DeviceKeys, wallet: string, deviceId: string, issuedAt: string): string {
  return deviceBindingText({
    wallet,
    deviceId,
    identityKey: toBase64(keys.identity.publicKey),
    signingKey: toBase64(keys.signing.publicKey),
    issuedAt,
  });
}

/** Sign the binding with a raw wallet key (tests, headless peers); browsers ask the wallet instead. */
export function signDeviceBinding(walletPrivateKey: Bytes, text: string): string {
  return personalSign(walletPrivateKey, text);
}

/** The `PUT /v1/devices/{device_id}` body (CONTRACT §5). */
export interface DevicePublication {
  identity_key: string;
  signing_key: string;
  binding_signature: string;
  issued_at: string;
  signed_prekey: { key_id: number; public_key: string; signature: string };
  one_time_prekeys: { key_id: number; public_key: string }[];
}

export function devicePublication(keys: DeviceKeys, bindingSignature: string, issuedAt: string): DevicePublication {
  return {
    identity_key: toBase64(keys.identity.publicKey),
    signing_key: toBase64(keys.signing.publicKey),
    binding_signature: bindingSignature,
    issued_at: issuedAt,
    signed_prekey: {
      key_id: keys.signedPrekey.keyId,
      public_key: toBase64(keys.signedPrekey.keyPair.publicKey),
      signature: toBase64(keys.signedPrekey.signature),
    },
    one_time_prekeys: keys.oneTimePrekeys.map((p) => ({ key_id: p.keyId, public_key: toBase64(p.keyPair.publicKey) })),
  };
}

/** A device record as served in `GET /v1/users/{wallet}/devices` (and inside a prekey bundle). */
export interface DeviceRecordJson {
  device_id?: string;
  identity_key: string;
  signing_key: string;
  binding_signature: string;
  issued_at: string;
  signed_prekey: { key_id: number; public_key: string; signature: string };
  [extra: string]: unknown;
}

/**
 * A prekey bundle as served by `GET /v1/users/{wallet}/devices/{device_id}/prekey-bundle`.
 * `device_id` may be absent from the JSON; the caller passes the id it asked for.
 */
export interface PrekeyBundleJson extends DeviceRecordJson {
  one_time_prekey?: { key_id: number; public_key: string } | null;
}

/** A device whose identity and signing keys are verified to be bound to `wallet`. */
export interface VerifiedDevice {
  readonly wallet: string;
  readonly deviceId: string;
  readonly identityKey: Bytes;
  readonly signingKey: Bytes;
  readonly bindingSignature: string;
  readonly issuedAt: string;
  readonly signedPrekeyId: number;
  readonly signedPrekey: Bytes;
  readonly signedPrekeySignature: Bytes;
}

export interface VerifiedBundle extends VerifiedDevice {
  readonly oneTimePrekeyId: number | null;
  readonly oneTimePrekey: Bytes | null;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Canonical lowercase hyphenated UUID text (device ids, conversation ids). */
export function normalizeDeviceId(id: string): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw new CryptoError('invalid_encoding', 'not a UUID');
  const h = id.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function b64Key(text: unknown, what: string, len: number): Bytes {
  let out: Bytes;
  try {
    out = fromBase64(text as string);
  } catch {
    throw new CryptoError('invalid_encoding', `${what} is not standard base64`);
  }
  if (out.length !== len) throw new CryptoError('invalid_encoding', `${what} must be ${len} bytes`);
  return out;
}

/**
 * True when `signature` is the account's signature over `text`: EIP-191 (0x-hex) for an EVM
 * address, base64 Ed25519 by the account key for a Solana (base58) account.
 */
export function verifyAccountSignature(wallet: string, text: string, signature: unknown): boolean {
  if (typeof signature !== 'string') return false;
  if (EVM_ADDRESS.test(wallet)) return verifyPersonalSignature(text, signature, wallet);
  let publicKey: Bytes;
  let sig: Bytes;
  try {
    publicKey = fromBase58(wallet);
    sig = fromBase64(signature);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, utf8(text), sig);
}

/**
 * Verify one device record for the wallet the client asked about (never the server's word):
 * the wallet binding must verify and the signed prekey must carry SigK's signature. When both
 * `deviceId` and the record's `device_id` are present they must match. Throws CryptoError
 * (`binding_invalid`, `invalid_signature`, `invalid_encoding`) otherwise.
 */
export function verifyDeviceRecord(wallet: string, data: DeviceRecordJson, deviceId?: string): VerifiedDevice {
  if (data === null || typeof data !== 'object') throw new CryptoError('invalid_encoding', 'device record missing');
  const fromData = data.device_id === undefined ? undefined : normalizeDeviceId(String(data.device_id));
  const asked = deviceId === undefined ? undefined : normalizeDeviceId(deviceId);
  if (fromData && asked && fromData !== asked) throw new CryptoError('binding_invalid', 'the record is for another device');
  const dev = asked ?? fromData;
  if (!dev) throw new CryptoError('invalid_encoding', 'device_id missing');
  const identityKey = b64Key(data.identity_key, 'identity_key', 32);
  const signingKey = b64Key(data.signing_key, 'signing_key', 32);
  const spk = data.signed_prekey;
  if (!spk || typeof spk !== 'object' || !Number.isInteger(spk.key_id)) {
    throw new CryptoError('invalid_encoding', 'signed_prekey missing');
  }
  checkU32(spk.key_id, 'signed_prekey.key_id');
  const signedPrekey = b64Key(spk.public_key, 'signed_prekey.public_key', 32);
  const spkSig = b64Key(spk.signature, 'signed_prekey.signature', 64);
  if (typeof data.issued_at !== 'string') throw new CryptoError('invalid_encoding', 'issued_at missing');
  const account = normalizeAccount(wallet);
  const text = deviceBindingText({
    wallet: account,
    deviceId: dev,
    identityKey: data.identity_key,
    signingKey: data.signing_key,
    issuedAt: data.issued_at,
  });
  if (!verifyAccountSignature(account, text, data.binding_signature)) {
    throw new CryptoError('binding_invalid', `device ${dev} is not bound to ${account} by a valid wallet signature`);
  }
  if (!ed25519Verify(signingKey, signedPrekey, spkSig)) {
    throw new CryptoError('invalid_signature', `device ${dev}: signed prekey signature is invalid`);
  }
  return {
    wallet: account,
    deviceId: dev,
    identityKey,
    signingKey,
    bindingSignature: data.binding_signature,
    issuedAt: data.issued_at,
    signedPrekeyId: spk.key_id,
    signedPrekey,
    signedPrekeySignature: spkSig,
  };
}

/** Verify a prekey bundle fetched for (wallet, deviceId); the only way to get a VerifiedBundle. */
export function verifyPrekeyBundle(bundle: PrekeyBundleJson, wallet: string, deviceId: string): VerifiedBundle {
  const record = verifyDeviceRecord(wallet, bundle, deviceId);
  const opk = bundle.one_time_prekey ?? null;
  if (!opk) return { ...record, oneTimePrekeyId: null, oneTimePrekey: null };
  if (typeof opk !== 'object' || !Number.isInteger(opk.key_id)) {
    throw new CryptoError('invalid_encoding', 'malformed one-time prekey');
  }
  checkU32(opk.key_id, 'one_time_prekey.key_id');
  if (opk.key_id === 0xffffffff) throw new CryptoError('invalid_encoding', 'one-time prekey id is reserved');
  return {
    ...record,
    oneTimePrekeyId: opk.key_id,
    oneTimePrekey: b64Key(opk.public_key, 'one_time_prekey.public_key', 32),
  };
}

/** JSON-able form of DeviceKeys (base64 private and public keys) for IndexedDB or backup. */
export interface DeviceKeysJson {
  identity: string;
  signing: string;
  signed_prekey: { key_id: number; private: string; signature: string };
  one_time_prekeys: { key_id: number; private: string }[];
}

export function deviceKeysToJson(keys: DeviceKeys): DeviceKeysJson {
  return {
    identity: toBase64(keys.identity.privateKey),
    signing: toBase64(keys.signing.privateKey),
    signed_prekey: {
      key_id: keys.signedPrekey.keyId,
      private: toBase64(keys.signedPrekey.keyPair.privateKey),
      signature: toBase64(keys.signedPrekey.signature),
    },
    one_time_prekeys: keys.oneTimePrekeys.map((p) => ({ key_id: p.keyId, private: toBase64(p.keyPair.privateKey) })),
  };
}

export function deviceKeysFromJson(json: DeviceKeysJson): DeviceKeys {
  const signing = ed25519KeyPair(fromBase64(json.signing));
  const spkPair = x25519KeyPair(fromBase64(json.signed_prekey.private));
  return {
    identity: x25519KeyPair(fromBase64(json.identity)),
    signing,
    signedPrekey: { keyId: json.signed_prekey.key_id, keyPair: spkPair, signature: fromBase64(json.signed_prekey.signature) },
    oneTimePrekeys: json.one_time_prekeys.map((p) => ({ keyId: p.key_id, keyPair: x25519KeyPair(fromBase64(p.private)) })),
  };
}
