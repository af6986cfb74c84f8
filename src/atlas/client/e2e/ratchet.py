"""The Double Ratchet (Signal's spec) with ATLAS E2E v1's KDFs.

Decryption never mutates state until the AEAD tag verifies: all new values are computed into locals
and committed together, so a tampered, truncated or replayed message leaves the session exactly as
it was. A used message key is deleted, so one ciphertext decrypts at most once.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from atlas.client.e2e.errors import DecryptError, InvalidKey, ReplayError, TooManySkipped
from atlas.client.e2e.primitives import (
    PROTOCOL,
    ZERO32,
    aead_decrypt,
    aead_encrypt,
    hkdf,
    hmac_sha256,
    x25519,
)
from atlas.client.e2e.wire import HEADER_LEN

MAX_SKIP = 1000
INFO_ROOT = PROTOCOL + b"/root"
INFO_MESSAGE = PROTOCOL + b"/message"
_HEADER = struct.Struct(">32sII")
_U32 = struct.Struct(">I")

KeyGen = Callable[[], bytes]


def random_private() -> bytes:
    return X25519PrivateKey.generate().private_bytes_raw()


def kdf_rk(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
    """(root key', chain key) = HKDF(salt = rk, ikm = dh_out, info = ".../root", 64)."""
    out = hkdf(rk, dh_out, INFO_ROOT, 64)
    return out[:32], out[32:]


def kdf_ck(ck: bytes) -> tuple[bytes, bytes]:
    """(chain key', message key): ck' = HMAC(ck, 0x02), mk = HMAC(ck, 0x01)."""
    return hmac_sha256(ck, b"\x02"), hmac_sha256(ck, b"\x01")


def message_key_material(mk: bytes) -> tuple[bytes, bytes]:
    """(AEAD key, nonce) = HKDF(zero salt, mk, ".../message", 44) split 32 / 12."""
    out = hkdf(ZERO32, mk, INFO_MESSAGE, 44)
    return out[:32], out[32:]


def associated_data(session_ad: bytes, context: bytes, header: bytes) -> bytes:
    return session_ad + _U32.pack(len(context)) + context + header


def _b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def _unb64(s: str | None) -> bytes | None:
    return None if s is None else base64.b64decode(s)


@dataclass(slots=True)
class Ratchet:
    """One Double Ratchet session state (Signal's names)."""

    ad: bytes
    rk: bytes
    dhs: bytes  # our current ratchet private key
    dhs_pub: bytes
    dhr: bytes | None = None
    cks: bytes | None = None
    ckr: bytes | None = None
    ns: int = 0
    nr: int = 0
    pn: int = 0
    skipped: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    keygen: KeyGen = random_private

    @classmethod
    def initiator(cls, sk: bytes, ad: bytes, peer_spk: bytes, keygen: KeyGen = random_private) -> Ratchet:
        dhs = keygen()
        priv = X25519PrivateKey.from_private_bytes(dhs)
        rk, cks = kdf_rk(sk, x25519(priv, peer_spk))
        return cls(ad, rk, dhs, priv.public_key().public_bytes_raw(), dhr=peer_spk, cks=cks, keygen=keygen)

    @classmethod
    def responder(cls, sk: bytes, ad: bytes, spk_private: bytes, keygen: KeyGen = random_private) -> Ratchet:
        pub = X25519PrivateKey.from_private_bytes(spk_private).public_key().public_bytes_raw()
        return cls(ad, sk, spk_private, pub, keygen=keygen)

    # -- sending -------------------------------------------------------------------------------
    def encrypt(self, padded: bytes, context: bytes) -> tuple[bytes, bytes]:
        """Encrypt one padded plaintext; returns (header bytes, ciphertext)."""
        if self.cks is None:
            raise DecryptError("this side cannot send before it has received a message")
        ck = self.cks
        mk = hmac_sha256(ck, b"\x01")
        self.cks = hmac_sha256(ck, b"\x02")
        header = _HEADER.pack(self.dhs_pub, self.pn, self.ns)
        self.ns += 1
        key, nonce = message_key_material(mk)
        return header, aead_encrypt(key, nonce, padded, associated_data(self.ad, context, header))

    # -- receiving -----------------------------------------------------------------------------
    def decrypt(self, header: bytes, ciphertext: bytes, context: bytes) -> bytes:
        """Decrypt one message; state changes only if the AEAD tag verifies."""
        if len(header) != HEADER_LEN:
            raise DecryptError("bad header")
        dh, pn, n = _HEADER.unpack(header)
        ad = associated_data(self.ad, context, header)
        slot = (dh, n)
        mk = self.skipped.get(slot)
        if mk is not None:
            key, nonce = message_key_material(mk)
            plain = aead_decrypt(key, nonce, ciphertext, ad)
            del self.skipped[slot]
            return plain
        new_skipped: dict[tuple[bytes, int], bytes] = {}
        if self.dhr is not None and dh == self.dhr:
            if self.ckr is None or n < self.nr:
                raise ReplayError("message key already used")
            self._check_skip(n - self.nr)
            ck = self._skip(self.ckr, dh, self.nr, n, new_skipped)
            ck, mk = kdf_ck(ck)
            key, nonce = message_key_material(mk)
            plain = aead_decrypt(key, nonce, ciphertext, ad)
            self.ckr, self.nr = ck, n + 1
            self.skipped.update(new_skipped)
            return plain
        # A new ratchet public key from the peer: a DH ratchet step.
        old_chain = max(0, pn - self.nr) if self.ckr is not None and self.dhr is not None else 0
        self._check_skip(old_chain + n)
        if old_chain and self.ckr is not None and self.dhr is not None:
            self._skip(self.ckr, self.dhr, self.nr, pn, new_skipped)
        try:
            shared = x25519(self.dhs, dh)
        except InvalidKey as exc:
            raise DecryptError("invalid ratchet key") from exc
        rk, ckr = kdf_rk(self.rk, shared)
        ckr = self._skip(ckr, dh, 0, n, new_skipped)
        ckr, mk = kdf_ck(ckr)
        key, nonce = message_key_material(mk)
        plain = aead_decrypt(key, nonce, ciphertext, ad)
        # Authentic: commit the step and derive our next sending chain.
        new_dhs = self.keygen()
        priv = X25519PrivateKey.from_private_bytes(new_dhs)
        rk, cks = kdf_rk(rk, x25519(priv, dh))
        self.pn, self.ns, self.nr = self.ns, 0, n + 1
        self.dhr, self.rk, self.ckr, self.cks = dh, rk, ckr, cks
        self.dhs, self.dhs_pub = new_dhs, priv.public_key().public_bytes_raw()
        self.skipped.update(new_skipped)
        return plain

    def _check_skip(self, count: int) -> None:
        if count and len(self.skipped) + count > MAX_SKIP:
            raise TooManySkipped(f"would store more than {MAX_SKIP} skipped message keys")

    @staticmethod
    def _skip(ck: bytes, dh: bytes, start: int, until: int, out: dict[tuple[bytes, int], bytes]) -> bytes:
        for i in range(start, until):
            ck, mk = kdf_ck(ck)
            out[(dh, i)] = mk
        return ck

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "ad": _b64(self.ad),
            "rk": _b64(self.rk),
            "dhs": _b64(self.dhs),
            "dhr": _b64(self.dhr),
            "cks": _b64(self.cks),
            "ckr": _b64(self.ckr),
            "ns": self.ns,
            "nr": self.nr,
            "pn": self.pn,
            "skipped": [[_b64(dh), n, _b64(mk)] for (dh, n), mk in self.skipped.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], keygen: KeyGen = random_private) -> Ratchet:
        dhs = base64.b64decode(data["dhs"])
        pub = X25519PrivateKey.from_private_bytes(dhs).public_key().public_bytes_raw()
        return cls(
            ad=base64.b64decode(data["ad"]),
            rk=base64.b64decode(data["rk"]),
            dhs=dhs,
            dhs_pub=pub,
            dhr=_unb64(data["dhr"]),
            cks=_unb64(data["cks"]),
            ckr=_unb64(data["ckr"]),
            ns=int(data["ns"]),
            nr=int(data["nr"]),
            pn=int(data["pn"]),
            skipped={(base64.b64decode(d), int(n)): base64.b64decode(m) for d, n, m in data["skipped"]},
            keygen=keygen,
        )
