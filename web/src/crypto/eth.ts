/**
 * EIP-191 `personal_sign` signer recovery, used to check that a device's keys were bound by the
 * peer's wallet (CONTRACT §5) and to derive the backup key. Signing is provided for tests and for
 * headless peers; in the browser the wallet signs.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

import { type Bytes, concat, fromHex, toHex, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';

export function eip191Hash(message: string | Bytes): Bytes {
  const msg = typeof message === 'string' ? utf8(message) : message;
  return keccak_256(concat(utf8(`\x19Ethereum Signed Message:\n${msg.length}`), msg));
}

function addressOfPublicKey(uncompressed: Bytes): string {
  return `0x${toHex(keccak_256(uncompressed.slice(1)).slice(12))}`;
}

export function addressFromPrivateKey(privateKey: Bytes): string {
  return addressOfPublicKey(secp256k1.getPublicKey(privateKey, false));
}

/** Parse a 65-byte r ‖ s ‖ v signature (0x-hex), v ∈ {0, 1, 27, 28}; refuses high-s (EIP-2). */
export function parseEthSignature(signature: string | Bytes): { r: bigint; s: bigint; recovery: number; raw: Bytes } {
  let raw: Bytes;
  try {
    raw = typeof signature === 'string' ? fromHex(signature) : signature;
  } catch {
    throw new CryptoError('invalid_signature', 'signature is not hex');
  }
  if (raw.length !== 65) throw new CryptoError('invalid_signature', 'signature must be 65 bytes');
  const v = raw[64] as number;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) throw new CryptoError('invalid_signature', 'bad recovery id');
  const r = BigInt(`0x${toHex(raw.slice(0, 32))}`);
  const s = BigInt(`0x${toHex(raw.slice(32, 64))}`);
  return { r, s, recovery, raw };
}

/** The lowercase 0x address that produced `signature` over `message` with personal_sign. */
export function recoverPersonalSigner(message: string | Bytes, signature: string | Bytes): string {
  const { r, s, recovery } = parseEthSignature(signature);
  try {
    const sig = new secp256k1.Signature(r, s, recovery);
    if (sig.hasHighS()) throw new Error('high s');
    const point = sig.recoverPublicKey(eip191Hash(message));
    return addressOfPublicKey(point.toBytes(false));
  } catch {
    throw new CryptoError('invalid_signature', 'signature does not recover to a public key');
  }
}

/** True when `signature` is `address`'s personal_sign over `message` (address compared case-insensitively). */
export function verifyPersonalSignature(message: string | Bytes, signature: string | Bytes, address: string): boolean {
  try {
    return recoverPersonalSigner(message, signature) === address.toLowerCase();
  } catch {
    return false;
  }
}

/** personal_sign with a raw secp256k1 key (RFC 6979 deterministic, low-s, v = 27/28), as 0x-hex. */
export function personalSign(privateKey: Bytes, message: string | Bytes): string {
  const rec = secp256k1.sign(eip191Hash(message), privateKey, { prehash: false, format: 'recovered' });
  // noble's "recovered" layout is recovery ‖ r ‖ s; Ethereum's is r ‖ s ‖ (27 + recovery).
  return `0x${toHex(concat(rec.slice(1), Uint8Array.of(27 + (rec[0] as number))))}`;
}
