"""HTTP routes of the device registry (CONTRACT §2 "End-to-end encrypted chat", §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from atlas.auth.deps import CurrentSession
from atlas.deps import ClockDep, ReadConn, WriteConn
from atlas.devices import service
from atlas.devices.component import BundleLimits, bundle_limits
from atlas.devices.schemas import (
    DeviceListOut,
    PrekeyBundleOut,
    PrekeysOut,
    PrekeysRequest,
    PutDeviceRequest,
    PutDeviceResponse,
)

router = APIRouter(prefix="/v1", tags=["devices"])

_PROBLEMS: dict[int | str, dict[str, str]] = {
    400: {"description": "binding_invalid / signed_prekey_invalid"},
    401: {"description": "no or invalid access token"},
    403: {"description": "not_device_owner: the device belongs to another account"},
    404: {"description": "device_not_found"},
    409: {"description": "device_limit_reached / device_revoked / prekey_id_conflict / too_many_prekeys"},
    422: {"description": "invalid_key / invalid_device_id / validation_error"},
}


@router.put(
    "/devices/{device_id}",
    summary="Register or re-upload a device's public keys. Authenticated: the caller's own device only.",
    description="The binding signature must be the caller's wallet signature over the CONTRACT §5 statement; "
    "the signed prekey must verify with the signing key; at most 10 active devices per account. "
    "Re-uploading the same keys is idempotent; different keys for the same device id are a key change. "
    "201 when created, 200 otherwise.",
    response_model=PutDeviceResponse,
    responses={201: {"model": PutDeviceResponse}, **_PROBLEMS},
)
async def put_device(
    device_id: str,
    body: PutDeviceRequest,
    me: CurrentSession,
    conn: WriteConn,
    clock: ClockDep,
    response: Response,
) -> PutDeviceResponse:
    out, created = await service.put_device(conn, clock, me.wallet, device_id, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return out


@router.get(
    "/users/{wallet}/devices",
    summary="A wallet's active devices with their keys and binding signatures. Public.",
    description="Clients verify each binding themselves before trusting a key.",
    response_model=DeviceListOut,
    responses={422: _PROBLEMS[422]},
)
async def list_devices(wallet: str, conn: ReadConn) -> DeviceListOut:
    return await service.list_devices(conn, wallet)


@router.get(
    "/users/{wallet}/devices/{device_id}/prekey-bundle",
    summary="A device's prekey bundle with at most one one-time prekey, never handed out twice. Public; "
    "rate-limited per client (429), and past a device's hourly budget of one-time prekeys the bundle "
    "carries the signed prekey only.",
    response_model=PrekeyBundleOut,
    responses={404: _PROBLEMS[404], 422: _PROBLEMS[422], 429: {"description": "rate_limited"}},
)
async def prekey_bundle(
    wallet: str,
    device_id: str,
    request: Request,
    limits: Annotated[BundleLimits, Depends(bundle_limits)],
    conn: WriteConn,
    clock: ClockDep,
) -> PrekeyBundleOut:
    await limits.check_client(request.client.host if request.client else "unknown")
    return await service.prekey_bundle(conn, clock, wallet, device_id, one_time_allowed=limits.one_time_allowed)


@router.post(
    "/devices/{device_id}/prekeys",
    summary="Add one-time prekeys and/or rotate the signed prekey. Authenticated: the device's owner only.",
    response_model=PrekeysOut,
    responses=_PROBLEMS,
)
async def add_prekeys(
    device_id: str, body: PrekeysRequest, me: CurrentSession, conn: WriteConn, clock: ClockDep
) -> PrekeysOut:
    return await service.add_prekeys(conn, clock, me.wallet, device_id, body)


@router.delete(
    "/devices/{device_id}",
    summary="Revoke a device. Authenticated: the device's owner only.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={k: v for k, v in _PROBLEMS.items() if k in (401, 403, 404, 422)},
)
async def revoke_device(device_id: str, me: CurrentSession, conn: WriteConn, clock: ClockDep) -> Response:
    await service.revoke_device(conn, clock, me.wallet, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
