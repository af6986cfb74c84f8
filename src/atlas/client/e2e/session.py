"""One session with one peer device: X3DH to set up, then the Double Ratchet, in wire bodies."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from atlas.client.e2e.errors import DecryptError, InvalidKey
from atlas.client.e2e.ratchet import KeyGen, Ratchet, random_private
from atlas.client.e2e.wire import (
    KIND_MESSAGE,
    KIND_PREKEY,
    NO_OPK,
    PrekeyPrefix,
    encode_message,
    encode_prekey,
    pad,
    unpad,
)
from atlas.client.e2e.x3dh import initiator_secret, responder_secret, session_ad


def _pub(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


@dataclass(slots=True)
class Session:
    ratchet: Ratchet
    peer_identity: bytes
    ephemeral: bytes  # the initiator's EK: identifies this X3DH run on both sides
    initiator: bool
    prefix: PrekeyPrefix | None = None  # sent with every message until the initiator hears back

    @classmethod
    def initiate(
        cls,
        identity_private: bytes,
        peer_identity: bytes,
        spk_id: int,
        spk_public: bytes,
        opk_id: int | None = None,
        opk_public: bytes | None = None,
        keygen: KeyGen = random_private,
    ) -> Session:
        """Initiator side. ``keygen`` is called for EK first, then for the first ratchet key."""
        identity_public = _pub(identity_private)
        ek = keygen()
        ek_public = _pub(ek)
        sk = initiator_secret(identity_private, ek, peer_identity, spk_public, opk_public)
        ratchet = Ratchet.initiator(sk, session_ad(identity_public, peer_identity), spk_public, keygen)
        opk = NO_OPK if opk_public is None or opk_id is None else opk_id
        prefix = PrekeyPrefix(identity_public, ek_public, spk_id, opk)
        return cls(ratchet, peer_identity, ek_public, True, prefix)

    @classmethod
    def respond(
        cls,
        identity_private: bytes,
        spk_private: bytes,
        opk_private: bytes | None,
        prefix: PrekeyPrefix,
        keygen: KeyGen = random_private,
    ) -> Session:
        """Responder side, from the prefix of a ``prekey`` body (nothing is decrypted yet)."""
        try:
            sk = responder_secret(
                identity_private, spk_private, opk_private, prefix.identity_key, prefix.ephemeral_key
            )
        except InvalidKey as exc:
            raise DecryptError("invalid X3DH key in prekey message") from exc
        ad = session_ad(prefix.identity_key, _pub(identity_private))
        return cls(
            Ratchet.responder(sk, ad, spk_private, keygen), prefix.identity_key, prefix.ephemeral_key, False
        )

    def encrypt(self, plaintext: bytes, context: bytes) -> tuple[str, bytes]:
        """(kind, body) for one plaintext (unpadded bytes)."""
        header, ct = self.ratchet.encrypt(pad(plaintext), context)
        if self.prefix is not None:
            return KIND_PREKEY, encode_prekey(self.prefix, header, ct)
        return KIND_MESSAGE, encode_message(header, ct)

    def decrypt(self, header: bytes, ciphertext: bytes, context: bytes) -> bytes:
        plain = unpad(self.ratchet.decrypt(header, ciphertext, context))
        self.prefix = None  # we heard from the peer: it has the session, plain messages suffice
        return plain

    def to_dict(self) -> dict[str, Any]:
        b64 = base64.b64encode
        return {
            "ratchet": self.ratchet.to_dict(),
            "peer_identity": b64(self.peer_identity).decode(),
            "ephemeral": b64(self.ephemeral).decode(),
            "initiator": self.initiator,
            "prefix": None
            if self.prefix is None
            else {
                "identity_key": b64(self.prefix.identity_key).decode(),
                "ephemeral_key": b64(self.prefix.ephemeral_key).decode(),
                "spk_id": self.prefix.spk_id,
                "opk_id": self.prefix.opk_id,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        d = base64.b64decode
        p = data["prefix"]
        prefix = (
            None
            if p is None
            else PrekeyPrefix(d(p["identity_key"]), d(p["ephemeral_key"]), int(p["spk_id"]), int(p["opk_id"]))
        )
        return cls(
            Ratchet.from_dict(data["ratchet"]),
            d(data["peer_identity"]),
            d(data["ephemeral"]),
            data["initiator"],
            prefix,
        )
