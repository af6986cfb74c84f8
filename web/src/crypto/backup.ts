/**
 * Wallet-derived key backup. The wallet signs a fixed statement; the 65 signature bytes are HKDF'd
 * into an XChaCha20-Poly1305 key. This relies on deterministic (RFC 6979) signatures, which
 * eth-account and common wallets produce: the same wallet re-derives the same key on a new device.
 *
 *   blob = 0x01 ‖ nonce(24) ‖ XChaCha20-Poly1305(key, nonce, canonical JSON, AD = UTF-8(wallet))
 */
import { type Bytes, concat, fromBase64, fromUtf8, type Rng, systemRng, toBase64, utf8 } from './bytes.js';
import { canonicalJson } from './canonical.js';
import { CryptoError } from './errors.js';
import { parseEthSignature } from './eth.js';
import { hkdfSha256, INFO_BACKUP, xchachaOpen, xchachaSeal, ZERO32 } from './primitives.js';

export const BACKUP_VERSION = 0x01;

export function backupStatement(wallet: string): string {
  return ['ATLAS key backup v1', `Account: ${wallet.toLowerCase()}`].join('\n');
}

/** backup_key = HKDF(salt = 0^32, ikm = the 65 signature bytes (as given), info = "ATLAS-E2E-v1/backup", 32). */
export function backupKey(signature: string | Bytes): Bytes {
  const { raw } = parseEthSignature(signature);
  return hkdfSha256(raw, ZERO32, INFO_BACKUP, 32);
}

/** What a backup holds: the long-term private keys (one-time prekeys are not backed up). */
export interface BackupKeys {
  identity: Bytes;
  signing: Bytes;
  signedPrekey: { keyId: number; privateKey: Bytes };
}

export function backupPlaintext(keys: BackupKeys): Bytes {
  return utf8(
    canonicalJson({
      identity: toBase64(keys.identity),
      signing: toBase64(keys.signing),
      signed_prekey: { key_id: keys.signedPrekey.keyId, private: toBase64(keys.signedPrekey.privateKey) },
    }),
  );
}

export function encryptBackup(
  wallet: string,
  signature: string | Bytes,
  keys: BackupKeys,
  opts: { rng?: Rng; nonce?: Bytes } = {},
): Bytes {
  const nonce = opts.nonce ?? (opts.rng ?? systemRng)(24);
  if (nonce.length !== 24) throw new CryptoError('invalid_encoding', 'backup nonce must be 24 bytes');
  const ct = xchachaSeal(backupKey(signature), nonce, backupPlaintext(keys), utf8(wallet.toLowerCase()));
  return concat(Uint8Array.of(BACKUP_VERSION), nonce, ct);
}

export function decryptBackup(wallet: string, signature: string | Bytes, blob: Bytes): BackupKeys {
  if (blob.length < 1 + 24 + 16 || blob[0] !== BACKUP_VERSION) {
    throw new CryptoError('invalid_encoding', 'not an ATLAS v1 key backup');
  }
  const pt = xchachaOpen(backupKey(signature), blob.slice(1, 25), blob.slice(25), utf8(wallet.toLowerCase()));
  let j: { identity: string; signing: string; signed_prekey: { key_id: number; private: string } };
  try {
    j = JSON.parse(fromUtf8(pt));
    return {
      identity: fromBase64(j.identity),
      signing: fromBase64(j.signing),
      signedPrekey: { keyId: j.signed_prekey.key_id, privateKey: fromBase64(j.signed_prekey.private) },
    };
  } catch {
    throw new CryptoError('invalid_encoding', 'backup plaintext is malformed');
  }
}
