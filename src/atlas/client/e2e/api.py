"""HTTP glue for the E2E SDK: register a device, fetch and verify device lists and bundles, build and
open CONTRACT §4 envelopes. ``http`` is an ``httpx.AsyncClient`` pointed at the server."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from atlas.client.e2e.bundles import DeviceRecord, PrekeyBundle, verify_bundle, verify_device_record
from atlas.client.e2e.device import OPK_BATCH, OPK_LOW_WATER, Decrypted, Device
from atlas.client.e2e.errors import E2EError, PeerHasNoDevices, UnknownDevice, UntrustedBundle

log = structlog.get_logger("atlas.client.e2e")


class ApiError(E2EError):
    def __init__(self, response: httpx.Response) -> None:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        self.status = response.status_code
        self.code = problem.get("code", "http_error") if isinstance(problem, dict) else "http_error"
        super().__init__(f"{self.status} {self.code}")


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise ApiError(response)
    data = response.json() if response.content else {}
    return data if isinstance(data, dict) else {"value": data}


async def register(
    http: httpx.AsyncClient,
    device: Device,
    account: Any,
    headers: Mapping[str, str],
    *,
    one_time_prekeys: int = OPK_BATCH,
) -> dict[str, Any]:
    """PUT the device's keys with the wallet's binding signature."""
    body = device.registration_body(account, one_time_prekeys=one_time_prekeys)
    return _ok(await http.put(f"/v1/devices/{device.device_id}", json=body, headers=dict(headers)))


async def fetch_devices(
    http: httpx.AsyncClient, wallet: str
) -> tuple[list[DeviceRecord], list[dict[str, Any]]]:
    """(verified records, rejected raw entries) of a wallet's active devices."""
    data = _ok(await http.get(f"/v1/users/{wallet}/devices"))
    good: list[DeviceRecord] = []
    bad: list[dict[str, Any]] = []
    for entry in data.get("devices", []):
        try:
            good.append(verify_device_record(wallet, entry))
        except UntrustedBundle:
            log.warning("e2e_device_rejected", wallet=wallet.lower(), device_id=str(entry.get("device_id")))
            bad.append(entry)
    return good, bad


async def fetch_bundle(http: httpx.AsyncClient, wallet: str, device_id: str) -> PrekeyBundle:
    """Fetch and verify one prekey bundle; raises UntrustedBundle if it is not bound to ``wallet``."""
    data = _ok(await http.get(f"/v1/users/{wallet}/devices/{device_id}/prekey-bundle"))
    return verify_bundle(wallet, device_id, data)


async def sync_devices(http: httpx.AsyncClient, device: Device, wallet: str) -> list[tuple[str, str]]:
    """Refresh a wallet's device list, start sessions with new devices, forget revoked ones.
    Returns the (wallet, device_id) recipients (this device excluded)."""
    records, _ = await fetch_devices(http, wallet)
    w = wallet.lower() if wallet.startswith("0x") else wallet
    listed = {r.device_id for r in records}
    for peer_wallet, peer_device in list(device.known):
        if peer_wallet == w and peer_device not in listed:
            device.forget_device(peer_wallet, peer_device)
    recipients = []
    for record in records:
        if record.device_id == device.device_id:
            continue
        device.trust(record)
        if not device.has_session(record.wallet, record.device_id):
            bundle = await fetch_bundle(http, wallet, record.device_id)
            if bundle.device.identity_key != record.identity_key:
                device.trust(bundle.device)
            device.start_session(bundle)
        recipients.append((record.wallet, record.device_id))
    return recipients


async def build_envelope(
    http: httpx.AsyncClient,
    device: Device,
    conversation_id: str,
    peer_wallet: str,
    message: dict[str, Any],
    *,
    client_msg_id: str | None = None,
) -> dict[str, Any]:
    """A CONTRACT §4 envelope: one payload for every device of the peer and every other device of ours.
    Raises PeerHasNoDevices when the peer has no verified device, UntrustedBundle when a bundle is forged."""
    recipients = await sync_devices(http, device, peer_wallet)
    if peer_wallet.lower() != device.wallet:
        if not recipients:
            raise PeerHasNoDevices(peer_wallet.lower())
        recipients += await sync_devices(http, device, device.wallet)
    return {
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "sender_device": device.device_id,
        "payloads": device.encrypt_for(conversation_id, recipients, message),
    }


async def open_envelope(
    http: httpx.AsyncClient,
    device: Device,
    conversation_id: str,
    sender_wallet: str,
    envelope: dict[str, Any],
) -> Decrypted | None:
    """Decrypt this device's payload of an envelope (None if there is none for this device).
    An unknown or changed sender identity is looked up in the sender's verified device list first."""
    mine = [
        p for p in envelope.get("payloads", []) if str(p.get("device_id", "")).lower() == device.device_id
    ]
    if not mine:
        return None
    sender_device = str(envelope["sender_device"])
    try:
        return device.decrypt(conversation_id, sender_wallet, sender_device, mine[0])
    except UnknownDevice:
        records, _ = await fetch_devices(http, sender_wallet)
        for record in records:
            if record.device_id == str(uuid.UUID(sender_device)):
                device.trust(record)
                try:
                    return device.decrypt(conversation_id, sender_wallet, sender_device, mine[0])
                except UnknownDevice:
                    break  # the message's identity key is not the one the wallet bound to that device
        raise UntrustedBundle(
            f"the sender's identity key is not bound to {sender_wallet}/{sender_device}"
        ) from None


async def replenish(
    http: httpx.AsyncClient,
    device: Device,
    headers: Mapping[str, str],
    *,
    low_water: int = OPK_LOW_WATER,
    target: int = OPK_BATCH,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Top up one-time prekeys when fewer than ``low_water`` remain, rotate the SPK when due."""
    data = _ok(await http.get(f"/v1/users/{device.wallet}/devices"))
    entry = next((d for d in data.get("devices", []) if d.get("device_id") == device.device_id), None)
    remaining = int(entry.get("one_time_prekeys_remaining", 0)) if entry else 0
    missing = target - remaining if remaining < low_water else 0
    rotate = device.spk_due(now=now)
    if not missing and not rotate:
        return None
    body = device.prekeys_body(one_time_prekeys=missing, rotate_signed_prekey=rotate, now=now)
    return _ok(await http.post(f"/v1/devices/{device.device_id}/prekeys", json=body, headers=dict(headers)))


async def revoke(http: httpx.AsyncClient, device_id: str, headers: Mapping[str, str]) -> None:
    _ok(await http.delete(f"/v1/devices/{device_id}", headers=dict(headers)))
