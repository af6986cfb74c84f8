"""X3DH key agreement (Signal's spec) with ATLAS E2E v1's KDF and session associated data."""

from __future__ import annotations

from atlas.client.e2e.primitives import PROTOCOL, ZERO32, hkdf, x25519

INFO_X3DH = PROTOCOL + b"/x3dh"
_F = b"\xff" * 32


def _kdf(dh: bytes) -> bytes:
    return hkdf(ZERO32, _F + dh, INFO_X3DH, 32)


def initiator_secret(
    identity_private: bytes,
    ephemeral_private: bytes,
    peer_identity: bytes,
    peer_spk: bytes,
    peer_opk: bytes | None,
) -> bytes:
    """SK for initiator A: DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B),
    DH4 = DH(EK_A, OPK_B) when a one-time prekey was handed out."""
    dh = x25519(identity_private, peer_spk) + x25519(ephemeral_private, peer_identity)
    dh += x25519(ephemeral_private, peer_spk)
    if peer_opk is not None:
        dh += x25519(ephemeral_private, peer_opk)
    return _kdf(dh)


def responder_secret(
    identity_private: bytes,
    spk_private: bytes,
    opk_private: bytes | None,
    peer_identity: bytes,
    peer_ephemeral: bytes,
) -> bytes:
    """The same SK computed by responder B."""
    dh = x25519(spk_private, peer_identity) + x25519(identity_private, peer_ephemeral)
    dh += x25519(spk_private, peer_ephemeral)
    if opk_private is not None:
        dh += x25519(opk_private, peer_ephemeral)
    return _kdf(dh)


def session_ad(initiator_identity: bytes, responder_identity: bytes) -> bytes:
    """PROTOCOL ‖ IK_A ‖ IK_B: the initiator's identity key first."""
    return PROTOCOL + initiator_identity + responder_identity
