/**
 * ATLAS E2E v1 — browser implementation (byte-for-byte interoperable with atlas.client.e2e).
 * The public API; see README.md in this directory. Everything here is synchronous and pure
 * except the default randomness source (crypto.getRandomValues), which every generator lets you replace.
 */
export {
  type Bytes,
  type Rng,
  concat,
  equalBytes,
  fromBase58,
  fromBase64,
  fromHex,
  fromUtf8,
  systemRng,
  toBase64,
  toHex,
  utf8,
} from './bytes.js';
export { CryptoError, type CryptoErrorCode } from './errors.js';
export { canonicalJson, type JsonValue } from './canonical.js';
export {
  dh,
  ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  generateEd25519,
  generateX25519,
  hkdfSha256,
  hmacSha256,
  type KeyPair,
  PROTOCOL,
  sha256,
  sha512,
  x25519KeyPair,
  x25519PublicKey,
} from './primitives.js';
export { pad, unpad, PAD_BLOCK } from './padding.js';
export {
  decodeContent,
  encodeContent,
  type MessageContent,
  receiptContent,
  type ReceiptContent,
  textContent,
  type TextContent,
} from './plaintext.js';
export {
  decodeBody,
  type DecodedBody,
  type DecodedMessage,
  type DecodedPrekeyMessage,
  decodeHeader,
  encodeHeader,
  encodeMessageBody,
  encodePrekeyBody,
  type Header,
  HEADER_LEN,
  NO_ONE_TIME_PREKEY,
  type PayloadKind,
  type PrekeyPrefix,
} from './wire.js';
export {
  addressFromPrivateKey,
  eip191Hash,
  personalSign,
  recoverPersonalSigner,
  verifyPersonalSignature,
} from './eth.js';
export {
  bindingTextForKeys,
  type BindingFields,
  deviceBindingText,
  type DeviceKeys,
  type DeviceKeysJson,
  deviceKeysFromJson,
  deviceKeysToJson,
  type DevicePublication,
  devicePublication,
  generateDeviceKeys,
  type GenerateDeviceKeysOptions,
  generateOneTimePrekeys,
  makeSignedPrekey,
  normalizeAccount,
  type Prekey,
  type PrekeyBundleJson,
  type DeviceRecordJson,
  normalizeDeviceId,
  type VerifiedDevice,
  verifyDeviceRecord,
  signDeviceBinding,
  type SignedPrekey,
  signPrekey,
  type VerifiedBundle,
  verifyAccountSignature,
  verifyPrekeyBundle,
} from './keys.js';
export { sessionAssociatedData, x3dhInitiator, x3dhResponder, type X3dhResult } from './x3dh.js';
export {
  acceptPrekeyMessage,
  type AcceptPrekeyParams,
  type AcceptPrekeyResult,
  aeadAssociatedData,
  decrypt,
  type DecryptResult,
  encrypt,
  type EncryptResult,
  initiateSession,
  type InitiateOptions,
  kdfChain,
  kdfRoot,
  MAX_SKIP,
  messageContext,
  messageKeyMaterial,
  type PendingPrekey,
  type RatchetOptions,
  responderSession,
  type Session,
} from './ratchet.js';
export { type SessionJson, sessionFromJson, sessionToJson } from './serialize.js';
export { fingerprint, FINGERPRINT_ITERATIONS, formatSafetyNumber, safetyNumber } from './safety.js';
export {
  backupKey,
  type BackupKeys,
  backupPlaintext,
  backupStatement,
  decryptBackup,
  encryptBackup,
} from './backup.js';
export {
  type Decrypted,
  E2EDevice,
  type E2EDeviceJson,
  type E2EDeviceOptions,
  type IdentityWarning,
  MAX_ARCHIVED,
  OPK_BATCH,
  OPK_LOW_WATER,
  type Payload,
  randomUuid,
} from './device.js';
