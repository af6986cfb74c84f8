/**
 * Safety numbers (per device pair), Signal-style iterated SHA-512 fingerprints:
 *   h = SHA-512(0x00 0x00 ‖ IK ‖ wallet); 5200 × h = SHA-512(h ‖ IK); h[0:30] → six 5-digit groups.
 * Both sides sort the two 30-digit halves, so they display the same 60 digits.
 */
import { type Bytes, concat, utf8 } from './bytes.js';
import { sha512 } from './primitives.js';

export const FINGERPRINT_ITERATIONS = 5200;

export function fingerprint(wallet: string, identityKey: Bytes): string {
  let h = sha512(concat(Uint8Array.of(0, 0), identityKey, utf8(wallet.toLowerCase())));
  for (let i = 0; i < FINGERPRINT_ITERATIONS; i++) h = sha512(concat(h, identityKey));
  let out = '';
  for (let i = 0; i < 30; i += 5) {
    // 5 bytes = 40 bits, exact in a double.
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + (h[i + j] as number);
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

/** 60 digits: the two fingerprints sorted ascending and concatenated. */
export function safetyNumber(walletA: string, identityKeyA: Bytes, walletB: string, identityKeyB: Bytes): string {
  const parts = [fingerprint(walletA, identityKeyA), fingerprint(walletB, identityKeyB)].sort();
  return parts.join('');
}

/** 12 groups of 5 digits separated by spaces, for display. */
export function formatSafetyNumber(digits: string): string {
  return (digits.match(/.{1,5}/g) ?? []).join(' ');
}
