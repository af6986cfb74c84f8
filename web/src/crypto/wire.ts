/**
 * Wire bodies carried base64-encoded in the envelope's `payloads[].body`.
 *
 *   kind "message": 0x01 ‖ header(40) ‖ ciphertext
 *   kind "prekey":  0x01 ‖ IK_A(32) ‖ EK_A(32) ‖ u32 spk_id ‖ u32 opk_id ‖ header(40) ‖ ciphertext
 *   header       = DHs_pub(32) ‖ u32 PN ‖ u32 N
 */
import { type Bytes, concat, readU32, u32 } from './bytes.js';
import { CryptoError } from './errors.js';

export const WIRE_VERSION = 0x01;
export const HEADER_LEN = 40;
export const NO_ONE_TIME_PREKEY = 0xffffffff;
const TAG_LEN = 16;
const PAD_BLOCK = 64;

/** Padded plaintexts are whole 64-byte blocks, so any other ciphertext length is malformed. */
function checkCiphertext(ct: Bytes): Bytes {
  if (ct.length < PAD_BLOCK + TAG_LEN || (ct.length - TAG_LEN) % PAD_BLOCK !== 0) {
    throw new CryptoError('invalid_encoding', 'ciphertext length is not a padded length');
  }
  return ct;
}

export type PayloadKind = 'prekey' | 'message';

export interface Header {
  /** The sender's current ratchet public key. */
  readonly dh: Bytes;
  /** Number of messages in the sender's previous sending chain. */
  readonly pn: number;
  /** Message number in the current sending chain. */
  readonly n: number;
}

export interface PrekeyPrefix {
  /** Initiator identity key IK_A. */
  readonly identityKey: Bytes;
  /** Initiator ephemeral key EK_A. */
  readonly ephemeralKey: Bytes;
  readonly signedPrekeyId: number;
  /** `null` when X3DH ran without a one-time prekey (0xFFFFFFFF on the wire). */
  readonly oneTimePrekeyId: number | null;
}

export interface DecodedMessage {
  readonly kind: 'message';
  readonly header: Header;
  /** The 40 header bytes exactly as received (they are authenticated as-is). */
  readonly headerBytes: Bytes;
  readonly ciphertext: Bytes;
}

export interface DecodedPrekeyMessage extends PrekeyPrefix {
  readonly kind: 'prekey';
  readonly header: Header;
  readonly headerBytes: Bytes;
  readonly ciphertext: Bytes;
}

export type DecodedBody = DecodedMessage | DecodedPrekeyMessage;

export function encodeHeader(h: Header): Bytes {
  if (h.dh.length !== 32) throw new CryptoError('invalid_encoding', 'ratchet key must be 32 bytes');
  return concat(h.dh, u32(h.pn), u32(h.n));
}

export function decodeHeader(bytes: Bytes): Header {
  if (bytes.length !== HEADER_LEN) throw new CryptoError('invalid_encoding', 'header must be 40 bytes');
  return { dh: bytes.slice(0, 32), pn: readU32(bytes, 32), n: readU32(bytes, 36) };
}

export function encodeMessageBody(headerBytes: Bytes, ciphertext: Bytes): Bytes {
  return concat(Uint8Array.of(WIRE_VERSION), headerBytes, ciphertext);
}

export function encodePrekeyBody(prefix: PrekeyPrefix, headerBytes: Bytes, ciphertext: Bytes): Bytes {
  if (prefix.identityKey.length !== 32 || prefix.ephemeralKey.length !== 32) {
    throw new CryptoError('invalid_encoding', 'identity and ephemeral keys must be 32 bytes');
  }
  const opk = prefix.oneTimePrekeyId === null ? NO_ONE_TIME_PREKEY : prefix.oneTimePrekeyId;
  return concat(
    Uint8Array.of(WIRE_VERSION),
    prefix.identityKey,
    prefix.ephemeralKey,
    u32(prefix.signedPrekeyId),
    u32(opk),
    headerBytes,
    ciphertext,
  );
}

export function decodeBody(kind: PayloadKind, body: Bytes): DecodedBody {
  if (body.length < 1 || body[0] !== WIRE_VERSION) {
    throw new CryptoError('invalid_encoding', 'unsupported wire version');
  }
  if (kind === 'message') {
    if (body.length < 1 + HEADER_LEN + TAG_LEN) throw new CryptoError('invalid_encoding', 'message body too short');
    const headerBytes = body.slice(1, 1 + HEADER_LEN);
    return { kind, header: decodeHeader(headerBytes), headerBytes, ciphertext: checkCiphertext(body.slice(1 + HEADER_LEN)) };
  }
  if (kind === 'prekey') {
    const off = 1 + 32 + 32 + 4 + 4;
    if (body.length < off + HEADER_LEN + TAG_LEN) throw new CryptoError('invalid_encoding', 'prekey body too short');
    const opk = readU32(body, 69);
    const headerBytes = body.slice(off, off + HEADER_LEN);
    return {
      kind,
      identityKey: body.slice(1, 33),
      ephemeralKey: body.slice(33, 65),
      signedPrekeyId: readU32(body, 65),
      oneTimePrekeyId: opk === NO_ONE_TIME_PREKEY ? null : opk,
      header: decodeHeader(headerBytes),
      headerBytes,
      ciphertext: checkCiphertext(body.slice(off + HEADER_LEN)),
    };
  }
  throw new CryptoError('invalid_encoding', `unknown payload kind ${String(kind)}`);
}
