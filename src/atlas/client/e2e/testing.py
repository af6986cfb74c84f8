"""Offline helpers for tests and benchmarks: what the server would hand out, without a server."""

from __future__ import annotations

from typing import Any


def bundle_from_registration(
    wallet: str, device_id: str, registration: dict[str, Any], opk_index: int | None = 0
) -> dict[str, Any]:
    """The ``GET …/prekey-bundle`` response the server would build from a ``PUT`` body."""
    opks = registration.get("one_time_prekeys", [])
    return {
        "wallet": wallet.lower(),
        "device_id": device_id,
        "identity_key": registration["identity_key"],
        "signing_key": registration["signing_key"],
        "binding_signature": registration["binding_signature"],
        "issued_at": registration["issued_at"],
        "signed_prekey": registration["signed_prekey"],
        "one_time_prekey": opks[opk_index] if opk_index is not None and opk_index < len(opks) else None,
    }


def device_record_from_registration(
    wallet: str, device_id: str, registration: dict[str, Any]
) -> dict[str, Any]:
    """One entry of ``GET /v1/users/{wallet}/devices`` built from a ``PUT`` body."""
    record = bundle_from_registration(wallet, device_id, registration, None)
    record.pop("one_time_prekey")
    record["one_time_prekeys_remaining"] = len(registration.get("one_time_prekeys", []))
    return record
