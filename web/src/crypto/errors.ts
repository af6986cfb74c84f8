/**
 * One error class with a stable machine-readable `code`, so the app can branch on the failure
 * (e.g. show "this message was already received" for `replay`) without parsing messages.
 */
export type CryptoErrorCode =
  | 'invalid_key'
  | 'invalid_encoding'
  | 'invalid_signature'
  | 'binding_invalid'
  | 'decrypt_failed'
  | 'replay'
  | 'too_many_skipped'
  | 'unknown_prekey'
  | 'session_mismatch'
  | 'invalid_padding'
  | 'invalid_plaintext'
  | 'no_session'
  | 'unknown_device';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}
