/**
 * The structured plaintext inside every ciphertext: canonical JSON with at least {"v":1,"type":…}.
 * Types this version defines: `text` {text, sent_at}, `read` {up_to}, `delivered` {up_to}.
 * Unknown types are passed through so newer clients can add kinds without breaking older ones.
 */
import { type Bytes, fromUtf8, utf8 } from './bytes.js';
import { canonicalJson } from './canonical.js';
import { CryptoError } from './errors.js';

export interface TextContent {
  v: 1;
  type: 'text';
  text: string;
  sent_at: string;
}
export interface ReceiptContent {
  v: 1;
  type: 'read' | 'delivered';
  up_to: number;
}
export type MessageContent = TextContent | ReceiptContent | { v: 1; type: string; [k: string]: unknown };

export function encodeContent(content: MessageContent): Bytes {
  if (content === null || typeof content !== 'object' || content.v !== 1 || typeof content.type !== 'string') {
    throw new CryptoError('invalid_plaintext', 'content must be an object with v=1 and a string type');
  }
  return utf8(canonicalJson(content));
}

export function decodeContent(bytes: Bytes): MessageContent {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new CryptoError('invalid_plaintext', 'plaintext is not UTF-8 JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CryptoError('invalid_plaintext', 'plaintext is not a JSON object');
  }
  const obj = value as Record<string, unknown>;
  if (obj['v'] !== 1 || typeof obj['type'] !== 'string') {
    throw new CryptoError('invalid_plaintext', 'plaintext lacks v=1 and a string type');
  }
  return obj as MessageContent;
}

export function textContent(text: string, sentAt: string): TextContent {
  return { v: 1, type: 'text', text, sent_at: sentAt };
}

export function receiptContent(kind: 'read' | 'delivered', upTo: number): ReceiptContent {
  return { v: 1, type: kind, up_to: upTo };
}
