"""Device registry rules: bindings verify for the caller's wallet, at most 10 active devices per
account, a device id belongs to the wallet that registered it, one-time prekeys go out at most once.

The server verifies exactly what clients verify (``atlas.client.e2e.binding``), so it never stores a
device a client would refuse; clients still verify, because the server is not trusted.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.client.e2e.binding import verify_binding, verify_signed_prekey
from atlas.client.e2e.bundles import b64decode_exact
from atlas.devices import repository
from atlas.devices.errors import (
    BindingInvalid,
    DeviceLimitReached,
    DeviceNotFound,
    DeviceRevokedError,
    InvalidDeviceId,
    InvalidKey,
    NotDeviceOwner,
    PrekeyConflict,
    SignedPrekeyInvalid,
    TooManyPrekeys,
)
from atlas.devices.schemas import (
    DeviceListOut,
    DeviceOut,
    OneTimePrekeyIn,
    OneTimePrekeyOut,
    PrekeyBundleOut,
    PrekeysOut,
    PrekeysRequest,
    PutDeviceRequest,
    PutDeviceResponse,
    SignedPrekeyIn,
    SignedPrekeyOut,
)
from atlas.errors import Unprocessable
from atlas.events.models import DeviceRegistered, DeviceRevoked
from atlas.events.outbox import emit
from atlas.kit.clock import Clock, parse_rfc3339, rfc3339

MAX_ACTIVE_DEVICES = 10
MAX_UNUSED_PREKEYS = 1000
ISSUED_AT_MAX_SKEW = timedelta(minutes=10)
_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


class InvalidWallet(Unprocessable):
    code = "invalid_wallet"


def normalize_wallet(wallet: str) -> str:
    if _EVM.match(wallet):
        return wallet.lower()
    if _BASE58.match(wallet):
        return wallet
    raise InvalidWallet("A wallet is a 0x-prefixed EVM address or a base58 Solana public key.")


def normalize_device_id(device_id: str) -> str:
    try:
        return str(uuid.UUID(device_id))
    except ValueError:
        raise InvalidDeviceId("A device id is a UUID.") from None


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _key(value: str, length: int, what: str) -> bytes:
    try:
        return b64decode_exact(value, length, what)
    except ValueError as exc:
        raise InvalidKey(str(exc).capitalize() + ".", field=what) from None


def _as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _device_out(row: Row[Any], remaining: int) -> DeviceOut:
    return DeviceOut(
        device_id=row.device_id,
        wallet=row.wallet,
        identity_key=_b64(row.identity_key),
        signing_key=_b64(row.signing_key),
        binding_signature=row.binding_signature,
        issued_at=row.issued_at,
        signed_prekey=SignedPrekeyOut(
            key_id=row.spk_id, public_key=_b64(row.spk_public), signature=_b64(row.spk_signature)
        ),
        one_time_prekeys_remaining=remaining,
        created_at=rfc3339(_as_utc(row.created_at)),
        updated_at=rfc3339(_as_utc(row.updated_at)),
    )


def _check_spk(signing_key: bytes, spk: SignedPrekeyIn) -> tuple[bytes, bytes]:
    public = _key(spk.public_key, 32, "signed_prekey.public_key")
    signature = _key(spk.signature, 64, "signed_prekey.signature")
    if not verify_signed_prekey(signing_key, public, signature):
        raise SignedPrekeyInvalid(
            "The signed prekey's signature does not verify with the device's signing key."
        )
    return public, signature


def _decode_opks(opks: list[OneTimePrekeyIn]) -> list[tuple[int, bytes]]:
    seen: dict[int, bytes] = {}
    for opk in opks:
        public = _key(opk.public_key, 32, "one_time_prekeys.public_key")
        if seen.get(opk.key_id, public) != public:
            raise PrekeyConflict(f"One-time prekey id {opk.key_id} appears twice with different keys.")
        seen[opk.key_id] = public
    return list(seen.items())


async def _add_prekeys(
    conn: AsyncConnection, device_id: str, keys: list[tuple[int, bytes]], now: datetime
) -> None:
    """Insert new one-time prekeys; re-sent identical ones are ignored, a reused id with another key is refused."""
    existing = await repository.existing_prekeys(conn, device_id, [k for k, _ in keys])
    fresh = []
    for key_id, public in keys:
        if key_id in existing:
            if existing[key_id] != public:
                raise PrekeyConflict(f"One-time prekey id {key_id} is already taken by another key.")
            continue
        fresh.append((key_id, public))
    if fresh and await repository.count_unused(conn, device_id) + len(fresh) > MAX_UNUSED_PREKEYS:
        raise TooManyPrekeys(f"A device holds at most {MAX_UNUSED_PREKEYS} unused one-time prekeys.")
    await repository.insert_prekeys(conn, device_id, fresh, now)


async def put_device(
    conn: AsyncConnection, clock: Clock, wallet: str, device_id: str, req: PutDeviceRequest
) -> tuple[PutDeviceResponse, bool]:
    """Register or re-upload the caller's device. Returns (device, created)."""
    wallet = normalize_wallet(wallet)
    device_id = normalize_device_id(device_id)
    now = clock.now()
    identity = _key(req.identity_key, 32, "identity_key")
    signing = _key(req.signing_key, 32, "signing_key")
    try:
        issued = parse_rfc3339(req.issued_at)
    except ValueError:
        raise Unprocessable("issued_at must be an RFC 3339 time.", code="validation_error") from None
    if issued > now + ISSUED_AT_MAX_SKEW:
        raise BindingInvalid("The binding's issued_at lies in the future.")
    if not verify_binding(
        wallet, device_id, req.identity_key, req.signing_key, req.issued_at, req.binding_signature
    ):
        raise BindingInvalid(
            "The binding signature does not verify for this account, device id and keys "
            "(see docs/protocol.md §2 for the exact statement)."
        )
    spk_public, spk_signature = _check_spk(signing, req.signed_prekey)
    opks = _decode_opks(req.one_time_prekeys)

    await repository.lock_wallet(conn, wallet)
    row = await repository.get_device(conn, device_id)
    values = {
        "identity_key": identity,
        "signing_key": signing,
        "binding_signature": req.binding_signature,
        "issued_at": req.issued_at,
        "spk_id": req.signed_prekey.key_id,
        "spk_public": spk_public,
        "spk_signature": spk_signature,
        "updated_at": now,
    }
    change: str
    if row is None:
        if await repository.count_active(conn, wallet) >= MAX_ACTIVE_DEVICES:
            raise DeviceLimitReached(
                f"This account already has {MAX_ACTIVE_DEVICES} active devices; revoke one first.",
                limit=MAX_ACTIVE_DEVICES,
            )
        await repository.insert_device(
            conn, {**values, "device_id": device_id, "wallet": wallet, "created_at": now}
        )
        change = "created"
    else:
        if row.wallet != wallet:
            raise NotDeviceOwner("This device id belongs to another account.")
        if row.revoked_at is not None:
            raise DeviceRevokedError("This device was revoked; register a new device id.")
        if bytes(row.identity_key) != identity or bytes(row.signing_key) != signing:
            change = "keys_changed"
            await repository.delete_prekeys(conn, device_id)  # they belong to the old identity
        elif all(
            (
                row.binding_signature == req.binding_signature,
                row.issued_at == req.issued_at,
                row.spk_id == req.signed_prekey.key_id,
                bytes(row.spk_public) == spk_public,
            )
        ):
            change = "unchanged"
            values = {}
        else:
            change = "updated"
        if values:
            await repository.update_device(conn, device_id, values)
    await _add_prekeys(conn, device_id, opks, now)
    if change in ("created", "keys_changed"):
        event = DeviceRegistered(
            actor=wallet, device_id=device_id, identity_key_hash=hashlib.sha256(identity).hexdigest()
        )
        await emit(conn, [event], at=now)
    stored = await repository.get_device(conn, device_id)
    assert stored is not None  # noqa: S101 - written above in this transaction
    out = _device_out(stored, await repository.count_unused(conn, device_id))
    return PutDeviceResponse(**out.model_dump(), change=change), change == "created"


async def list_devices(conn: AsyncConnection, wallet: str) -> DeviceListOut:
    wallet = normalize_wallet(wallet)
    rows = await repository.list_active(conn, wallet)
    return DeviceListOut(wallet=wallet, devices=[_device_out(row, n) for row, n in rows])


async def _owned_active(conn: AsyncConnection, wallet: str, device_id: str) -> Row[Any]:
    row = await repository.get_device(conn, device_id)
    if row is None:
        raise DeviceNotFound("No such device.")
    if row.wallet != wallet:
        raise NotDeviceOwner("This device belongs to another account.")
    if row.revoked_at is not None:
        raise DeviceRevokedError("This device was revoked.")
    return row


async def prekey_bundle(
    conn: AsyncConnection,
    clock: Clock,
    wallet: str,
    device_id: str,
    *,
    one_time_allowed: Callable[[str], Awaitable[bool]] | None = None,
) -> PrekeyBundleOut:
    """``one_time_allowed(device_id)`` spends the device's hand-out budget; once it says no, the bundle
    carries the signed prekey only and the one-time prekeys stay for the device's real contacts."""
    wallet = normalize_wallet(wallet)
    device_id = normalize_device_id(device_id)
    row = await repository.get_device(conn, device_id)
    if row is None or row.wallet != wallet or row.revoked_at is not None:
        raise DeviceNotFound("This account has no such active device.")
    one_time = one_time_allowed is None or await one_time_allowed(device_id)
    claimed = await repository.claim_prekey(conn, device_id, clock.now()) if one_time else None
    d = _device_out(row, 0)
    return PrekeyBundleOut(
        wallet=wallet,
        device_id=device_id,
        identity_key=d.identity_key,
        signing_key=d.signing_key,
        binding_signature=d.binding_signature,
        issued_at=d.issued_at,
        signed_prekey=d.signed_prekey,
        one_time_prekey=None
        if claimed is None
        else OneTimePrekeyOut(key_id=claimed[0], public_key=_b64(claimed[1])),
    )


async def add_prekeys(
    conn: AsyncConnection, clock: Clock, wallet: str, device_id: str, req: PrekeysRequest
) -> PrekeysOut:
    wallet = normalize_wallet(wallet)
    device_id = normalize_device_id(device_id)
    now = clock.now()
    row = await _owned_active(conn, wallet, device_id)
    spk_id = int(row.spk_id)
    if req.signed_prekey is not None:
        public, signature = _check_spk(bytes(row.signing_key), req.signed_prekey)
        spk_id = req.signed_prekey.key_id
        await repository.update_device(
            conn,
            device_id,
            {"spk_id": spk_id, "spk_public": public, "spk_signature": signature, "updated_at": now},
        )
    await _add_prekeys(conn, device_id, _decode_opks(req.one_time_prekeys), now)
    remaining = await repository.count_unused(conn, device_id)
    return PrekeysOut(device_id=device_id, one_time_prekeys_remaining=remaining, signed_prekey_id=spk_id)


async def revoke_device(conn: AsyncConnection, clock: Clock, wallet: str, device_id: str) -> None:
    wallet = normalize_wallet(wallet)
    device_id = normalize_device_id(device_id)
    now = clock.now()
    row = await repository.get_device(conn, device_id)
    if row is None:
        raise DeviceNotFound("No such device.")
    if row.wallet != wallet:
        raise NotDeviceOwner("This device belongs to another account.")
    if row.revoked_at is not None:
        return  # idempotent
    await repository.revoke(conn, device_id, now)
    await emit(conn, [DeviceRevoked(actor=wallet, device_id=device_id)], at=now)
