/**
 * Byte helpers shared by the protocol modules.
 *
 * Kept dependency-free so the same code runs in browsers and in Node without polyfills; base64 is
 * implemented here (not via atob/Buffer) because the contract demands *strict* standard base64 with
 * padding, and both atob and Buffer silently accept malformed input.
 */

export type Bytes = Uint8Array;

const ENC = new TextEncoder();
const DEC = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Bytes {
  return ENC.encode(text);
}

/** Strict UTF-8 decoding: invalid sequences throw instead of turning into U+FFFD. */
export function fromUtf8(bytes: Bytes): string {
  return DEC.decode(bytes);
}

export function concat(...parts: Bytes[]): Bytes {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Unsigned 32-bit big-endian, the only integer encoding on the wire. */
export function u32(n: number): Bytes {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a u32: ${n}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

export function readU32(bytes: Bytes, offset: number): number {
  if (offset + 4 > bytes.length) throw new RangeError('truncated u32');
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/** Constant-time equality (length is not secret). */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function isAllZero(a: Bytes): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] as number;
  return acc === 0;
}

/** Overwrite secret material we own; best effort in a garbage-collected runtime. */
export function wipe(...arrays: (Bytes | null | undefined)[]): void {
  for (const a of arrays) if (a) a.fill(0);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_REV = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_REV[B64.charCodeAt(i)] = i;

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Bytes): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Strict standard base64 with padding: rejects whitespace, URL-safe letters, missing padding and
 * non-zero trailing bits, so one byte string has exactly one accepted text form.
 */
export function fromBase64(text: string): Bytes {
  if (typeof text !== 'string' || text.length % 4 !== 0) throw new TypeError('invalid base64');
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const v = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      if (last && j >= 4 - pad) {
        if (c !== 61) throw new TypeError('invalid base64');
        continue;
      }
      const d = c < 128 ? (B64_REV[c] as number) : -1;
      if (d < 0) throw new TypeError('invalid base64');
      v[j] = d;
    }
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (last && pad === 2 && (n & 0xffff) !== 0) throw new TypeError('invalid base64 (trailing bits)');
    if (last && pad === 1 && (n & 0xff) !== 0) throw new TypeError('invalid base64 (trailing bits)');
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function toHex(bytes: Bytes): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Lowercase or uppercase hex, optional 0x prefix, even length. */
export function fromHex(text: string): Bytes {
  const h = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new TypeError('invalid hex');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Bitcoin-alphabet base58 (Solana public keys). */
export function fromBase58(text: string): Bytes {
  if (typeof text !== 'string' || text.length === 0) throw new TypeError('invalid base58');
  let n = 0n;
  for (const ch of text) {
    const d = B58.indexOf(ch);
    if (d < 0) throw new TypeError('invalid base58');
    n = n * 58n + BigInt(d);
  }
  const body: number[] = [];
  while (n > 0n) {
    body.push(Number(n & 255n));
    n >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body.reverse()]);
}

/** A source of random bytes; injectable so test vectors can be reproduced. */
export type Rng = (n: number) => Bytes;

export const systemRng: Rng = (n) => {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
};
