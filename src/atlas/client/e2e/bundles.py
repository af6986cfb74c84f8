"""Parsing and verifying what the server hands out: prekey bundles and device records.

A client never trusts the server's word that a key belongs to a wallet: every record is verified
against the wallet the client asked about (EIP-191 binding) and the signed prekey against the bound
signing key. Anything else raises :class:`UntrustedBundle`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any

from atlas.client.e2e.binding import verify_binding, verify_signed_prekey
from atlas.client.e2e.errors import UntrustedBundle


def b64decode_exact(value: Any, length: int | None = None, what: str = "value") -> bytes:
    """Strict standard base64 with padding (and, optionally, an exact decoded length)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not standard base64") from exc
    if base64.b64encode(raw).decode() != value:
        raise ValueError(f"{what} is not canonical base64")
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return raw


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device whose identity and signing keys are verified to be bound to ``wallet``."""

    wallet: str
    device_id: str
    identity_key: bytes
    signing_key: bytes
    binding_signature: str
    issued_at: str
    spk_id: int
    spk_public: bytes
    spk_signature: bytes


@dataclass(frozen=True, slots=True)
class PrekeyBundle:
    device: DeviceRecord
    opk_id: int | None
    opk_public: bytes | None


_verified: dict[tuple[str, str, str, str, str, str], bool] = {}


def _binding_ok(wallet: str, device_id: str, ik: str, sk: str, issued_at: str, sig: str) -> bool:
    # EIP-191 recovery costs ~0.2 ms; device lists are fetched often, so remember verdicts.
    cache_key = (wallet, device_id, ik, sk, issued_at, sig)
    verdict = _verified.get(cache_key)
    if verdict is None:
        verdict = verify_binding(wallet, device_id, ik, sk, issued_at, sig)
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[cache_key] = verdict
    return verdict


def verify_device_record(wallet: str, data: dict[str, Any], device_id: str | None = None) -> DeviceRecord:
    """Verify one device record (from a device list or a bundle) for the wallet the caller asked about."""
    try:
        wallet_l = wallet.lower() if wallet.startswith("0x") else wallet
        dev = str(uuid.UUID(str(data["device_id"])))
        if device_id is not None and dev != str(uuid.UUID(device_id)):
            raise UntrustedBundle("the record is for another device")
        ik_b64, sk_b64 = data["identity_key"], data["signing_key"]
        ik = b64decode_exact(ik_b64, 32, "identity_key")
        sk = b64decode_exact(sk_b64, 32, "signing_key")
        spk = data["signed_prekey"]
        spk_pub = b64decode_exact(spk["public_key"], 32, "signed_prekey.public_key")
        spk_sig = b64decode_exact(spk["signature"], 64, "signed_prekey.signature")
        spk_id = int(spk["key_id"])
        issued_at, sig = str(data["issued_at"]), str(data["binding_signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedBundle(f"malformed device record: {exc}") from exc
    if not _binding_ok(wallet_l, dev, ik_b64, sk_b64, issued_at, sig):
        raise UntrustedBundle(f"device {dev} is not bound to {wallet_l} by a valid wallet signature")
    if not verify_signed_prekey(sk, spk_pub, spk_sig):
        raise UntrustedBundle(f"device {dev}: signed prekey signature is invalid")
    return DeviceRecord(wallet_l, dev, ik, sk, sig, issued_at, spk_id, spk_pub, spk_sig)


def verify_bundle(wallet: str, device_id: str, data: dict[str, Any]) -> PrekeyBundle:
    """Verify a prekey bundle fetched for (wallet, device_id); raise UntrustedBundle otherwise."""
    record = verify_device_record(wallet, data, device_id)
    opk = data.get("one_time_prekey")
    if opk is None:
        return PrekeyBundle(record, None, None)
    try:
        opk_id = int(opk["key_id"])
        opk_pub = b64decode_exact(opk["public_key"], 32, "one_time_prekey.public_key")
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedBundle(f"malformed one-time prekey: {exc}") from exc
    if not 0 <= opk_id < 0xFFFFFFFF:
        raise UntrustedBundle("one-time prekey id out of range")
    return PrekeyBundle(record, opk_id, opk_pub)
