"""Encrypted backup of a device's long-term private keys under a key derived from a wallet signature.

The backup key is HKDF of the wallet's EIP-191 signature over a fixed statement. Wallets sign with
RFC 6979 deterministic nonces, so the same wallet re-derives the same key on a new machine. What this
protects and what it does not is in SECURITY.md.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

from atlas.client.e2e.binding import backup_statement, personal_sign
from atlas.client.e2e.errors import DecryptError, MalformedMessage
from atlas.client.e2e.primitives import PROTOCOL, ZERO32, hkdf, xchacha_decrypt, xchacha_encrypt
from atlas.kit.canonical import canonical_bytes, loads_strict

INFO_BACKUP = PROTOCOL + b"/backup"
BACKUP_VERSION = 0x01
NONCE_LEN = 24


@dataclass(frozen=True, slots=True)
class BackupKeys:
    identity: bytes  # X25519 private
    signing: bytes  # Ed25519 private seed
    spk_id: int
    spk_private: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": base64.b64encode(self.identity).decode(),
            "signing": base64.b64encode(self.signing).decode(),
            "signed_prekey": {"key_id": self.spk_id, "private": base64.b64encode(self.spk_private).decode()},
        }


def backup_key_from_signature(signature: bytes) -> bytes:
    if len(signature) != 65:
        raise ValueError("an EIP-191 signature is 65 bytes")
    return hkdf(ZERO32, signature, INFO_BACKUP, 32)


def derive_backup_key(account: Any) -> bytes:
    """Ask the wallet (an eth-account LocalAccount here) to sign the backup statement."""
    signature = personal_sign(account, backup_statement(account.address))
    return backup_key_from_signature(bytes.fromhex(signature[2:]))


def encrypt_backup(key: bytes, wallet: str, keys: BackupKeys, nonce: bytes | None = None) -> bytes:
    nonce = nonce if nonce is not None else os.urandom(NONCE_LEN)
    if len(nonce) != NONCE_LEN:
        raise ValueError("nonce must be 24 bytes")
    sealed = xchacha_encrypt(key, nonce, canonical_bytes(keys.to_json()), wallet.lower().encode())
    return bytes((BACKUP_VERSION,)) + nonce + sealed


def decrypt_backup(key: bytes, wallet: str, blob: bytes) -> BackupKeys:
    if len(blob) < 1 + NONCE_LEN + 16 or blob[0] != BACKUP_VERSION:
        raise MalformedMessage("not an ATLAS key backup v1 blob")
    plain = xchacha_decrypt(key, blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :], wallet.lower().encode())
    try:
        data = loads_strict(plain)
        spk = data["signed_prekey"]
        return BackupKeys(
            identity=base64.b64decode(data["identity"]),
            signing=base64.b64decode(data["signing"]),
            spk_id=int(spk["key_id"]),
            spk_private=base64.b64decode(spk["private"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DecryptError("backup content is malformed") from exc
