"""Thin wrappers over audited primitives (``cryptography`` / PyNaCl): X25519, Ed25519,
HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305 and XChaCha20-Poly1305.

HKDF is RFC 5869 composed from the standard library's one-shot ``hmac.digest`` (OpenSSL's HMAC):
the same bytes as ``cryptography``'s ``HKDF`` (a unit test checks both against RFC 5869's vectors),
without building a hash object per message — the ratchet runs it for every message.
"""

from __future__ import annotations

import hmac
import struct

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from atlas.client.e2e.errors import DecryptError, InvalidKey

PROTOCOL = b"ATLAS-E2E-v1"
ZERO32 = bytes(32)
HASH_LEN = 32

__all__ = [
    "PROTOCOL",
    "ZERO32",
    "InvalidSignature",
    "InvalidTag",
    "aead_decrypt",
    "aead_encrypt",
    "ed25519_public",
    "ed25519_sign",
    "ed25519_verify",
    "hkdf",
    "hmac_sha256",
    "u32",
    "x25519",
    "x25519_public",
    "xchacha_decrypt",
    "xchacha_encrypt",
]

_U32 = struct.Struct(">I")


def u32(value: int) -> bytes:
    return _U32.pack(value)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 (extract then expand)."""
    if length > 255 * HASH_LEN:
        raise ValueError("HKDF length too large")
    prk = hmac.digest(salt or ZERO32, ikm, "sha256")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), "sha256")
        out += block
        counter += 1
    return out[:length]


def x25519_public(private: bytes) -> bytes:
    if len(private) != 32:
        raise InvalidKey("X25519 private key must be 32 bytes")
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def x25519(private: bytes | X25519PrivateKey, public: bytes) -> bytes:
    """X25519 with the all-zero output rejected (RFC 7748 §6.1): a peer cannot force a known secret."""
    if len(public) != 32:
        raise InvalidKey("X25519 public key must be 32 bytes")
    key = private if isinstance(private, X25519PrivateKey) else X25519PrivateKey.from_private_bytes(private)
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError as exc:  # OpenSSL refuses low-order points with an all-zero result
        raise InvalidKey("X25519 produced the all-zero output") from exc
    if hmac.compare_digest(shared, ZERO32):
        raise InvalidKey("X25519 produced the all-zero output")
    return shared


def ed25519_public(private: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def ed25519_sign(private: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).sign(message)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, ad)
    except InvalidTag as exc:
        raise DecryptError("authentication failed") from exc


def xchacha_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    return bytes(crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key))


def xchacha_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    try:
        return bytes(crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, ad, nonce, key))
    except CryptoError as exc:
        raise DecryptError("authentication failed") from exc
