/**
 * Thin, typed wrappers around the audited @noble primitives, plus the protocol's fixed labels.
 * Every other module goes through here, so swapping a primitive (e.g. to WebCrypto X25519 once it
 * is everywhere) touches one file.
 */
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

import { type Bytes, isAllZero, type Rng, systemRng, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';

export const PROTOCOL = utf8('ATLAS-E2E-v1');
export const INFO_X3DH = utf8('ATLAS-E2E-v1/x3dh');
export const INFO_ROOT = utf8('ATLAS-E2E-v1/root');
export const INFO_MESSAGE = utf8('ATLAS-E2E-v1/message');
export const INFO_BACKUP = utf8('ATLAS-E2E-v1/backup');
export const ZERO32 = new Uint8Array(32);

export interface KeyPair {
  /** Raw 32-byte private key (X25519 scalar before clamping, or Ed25519 seed). */
  readonly privateKey: Bytes;
  /** Raw 32-byte public key. */
  readonly publicKey: Bytes;
}

export function sha256(data: Bytes): Bytes {
  return nobleSha256(data);
}

export function sha512(data: Bytes): Bytes {
  return nobleSha512(data);
}

export function hmacSha256(key: Bytes, data: Bytes): Bytes {
  return hmac(nobleSha256, key, data);
}

/** A keyed HMAC-SHA256 state to clone when one key authenticates several messages. */
export function hmacSha256Keyed(key: Bytes): { clone(): ReturnType<typeof hmacSha256Keyed>; update(d: Bytes): ReturnType<typeof hmacSha256Keyed>; digest(): Bytes } {
  return hmac.create(nobleSha256, key);
}

export function hkdfSha256(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Bytes {
  return nobleHkdf(nobleSha256, ikm, salt, info, length);
}

export function x25519PublicKey(privateKey: Bytes): Bytes {
  if (privateKey.length !== 32) throw new CryptoError('invalid_key', 'X25519 private key must be 32 bytes');
  return x25519.getPublicKey(privateKey);
}

export function x25519KeyPair(privateKey: Bytes): KeyPair {
  return { privateKey: Uint8Array.from(privateKey), publicKey: x25519PublicKey(privateKey) };
}

export function generateX25519(rng: Rng = systemRng): KeyPair {
  return x25519KeyPair(rng(32));
}

/** X25519 that refuses the all-zero output of a low-order peer key (spec: "Reject any … all zero"). */
export function dh(privateKey: Bytes, publicKey: Bytes): Bytes {
  if (publicKey.length !== 32) throw new CryptoError('invalid_key', 'X25519 public key must be 32 bytes');
  let out: Bytes;
  try {
    out = x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    // noble throws on an all-zero result itself; normalise the error type.
    throw new CryptoError('invalid_key', 'X25519 produced an all-zero shared secret');
  }
  if (isAllZero(out)) throw new CryptoError('invalid_key', 'X25519 produced an all-zero shared secret');
  return out;
}

export function ed25519KeyPair(seed: Bytes): KeyPair {
  if (seed.length !== 32) throw new CryptoError('invalid_key', 'Ed25519 seed must be 32 bytes');
  return { privateKey: Uint8Array.from(seed), publicKey: ed25519.getPublicKey(seed) };
}

export function generateEd25519(rng: Rng = systemRng): KeyPair {
  return ed25519KeyPair(rng(32));
}

export function ed25519Sign(seed: Bytes, message: Bytes): Bytes {
  return ed25519.sign(message, seed);
}

/** Strict RFC 8032 verification (no ZIP-215 leniency), matching libsodium/cryptography. */
export function ed25519Verify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function chachaSeal(key: Bytes, nonce: Bytes, plaintext: Bytes, ad: Bytes): Bytes {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Throws CryptoError('decrypt_failed') on a bad tag. */
export function chachaOpen(key: Bytes, nonce: Bytes, ciphertext: Bytes, ad: Bytes): Bytes {
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new CryptoError('decrypt_failed', 'message authentication failed');
  }
}

export function xchachaSeal(key: Bytes, nonce: Bytes, plaintext: Bytes, ad: Bytes): Bytes {
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

export function xchachaOpen(key: Bytes, nonce: Bytes, ciphertext: Bytes, ad: Bytes): Bytes {
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new CryptoError('decrypt_failed', 'backup authentication failed');
  }
}
