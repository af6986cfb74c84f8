/**
 * ISO/IEC 7816-4 style padding to a multiple of 64 bytes, so ciphertext length reveals only a
 * coarse size bucket. At least one byte is always added, which makes unpadding unambiguous.
 */
import type { Bytes } from './bytes.js';
import { CryptoError } from './errors.js';

export const PAD_BLOCK = 64;

export function pad(plaintext: Bytes): Bytes {
  const total = (Math.floor(plaintext.length / PAD_BLOCK) + 1) * PAD_BLOCK;
  const out = new Uint8Array(total);
  out.set(plaintext, 0);
  out[plaintext.length] = 0x80;
  return out;
}

export function unpad(padded: Bytes): Bytes {
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0x00) i--;
  if (i < 0 || padded[i] !== 0x80) throw new CryptoError('invalid_padding', 'invalid padding');
  return padded.slice(0, i);
}
