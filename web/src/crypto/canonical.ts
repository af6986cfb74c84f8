/**
 * RFC 8785 (JCS) for the value space the protocol uses: objects, arrays, strings, booleans, null and
 * integers within ±(2^53 − 1). Floats are refused rather than canonicalised, matching the Python
 * side (atlas.kit.canonical), so both implementations accept and reject exactly the same values.
 */
import { CryptoError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function enc(value: unknown, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new CryptoError('invalid_plaintext', 'only integers within ±(2^53-1) are allowed');
    }
    out.push(Object.is(value, -0) ? '0' : String(value));
  } else if (typeof value === 'string') {
    // JSON.stringify escapes exactly as RFC 8785 requires (it is defined by ECMAScript).
    if (LONE_SURROGATE.test(value)) {
      throw new CryptoError('invalid_plaintext', 'strings must be valid Unicode (no lone surrogates)');
    }
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i) out.push(',');
      enc(v, out);
    });
    out.push(']');
  } else if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the RFC 8785 order.
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    out.push('{');
    keys.forEach((k, i) => {
      if (i) out.push(',');
      enc(k, out);
      out.push(':');
      enc(obj[k], out);
    });
    out.push('}');
  } else {
    throw new CryptoError('invalid_plaintext', `unsupported JSON value of type ${typeof value}`);
  }
}

export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  enc(value, out);
  return out.join('');
}
