"""Property: changing any single byte of a signed message or of its signature is rejected.

Hypothesis picks the position and the new byte; each example gets a fresh challenge, so a rejection
can only come from the tampering. After the tampered attempt, the untouched pair still signs in:
the failed attempt neither succeeded nor burned the nonce.
"""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.client.auth import sign_evm

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ACCOUNT = Account.create()


async def _signed(client: httpx.AsyncClient) -> tuple[str, str]:
    resp = await client.post("/v1/auth/challenge", json={"address": ACCOUNT.address})
    message = resp.json()["message"]
    return message, sign_evm(ACCOUNT, message)


async def _connect(client: httpx.AsyncClient, message: str, signature: str) -> httpx.Response:
    return await client.post("/v1/auth/connect-wallet", json={"message": message, "signature": signature})


def _refused(resp: httpx.Response) -> None:
    assert resp.status_code in (400, 401), resp.text
    body: dict[str, Any] = resp.json()
    assert isinstance(body.get("code"), str)
    assert "access_token" not in body


@_SETTINGS
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), byte=st.integers(0, 255))
async def test_any_single_byte_change_to_the_message_is_rejected(
    client: httpx.AsyncClient, position: float, byte: int
) -> None:
    message, signature = await _signed(client)
    raw = bytearray(message.encode())
    index = int(position * len(raw))
    if raw[index] == byte:
        byte = (byte + 1) % 256
    raw[index] = byte
    tampered = raw.decode("utf-8", errors="replace")
    assert tampered != message
    _refused(await _connect(client, tampered, signature))
    assert (await _connect(client, message, signature)).status_code == 200


@_SETTINGS
@given(index=st.integers(0, 64), byte=st.integers(0, 255))
async def test_any_single_byte_change_to_the_signature_is_rejected(
    client: httpx.AsyncClient, index: int, byte: int
) -> None:
    message, signature = await _signed(client)
    raw = bytearray(bytes.fromhex(signature[2:]))
    if raw[index] == byte:
        byte = (byte + 1) % 256
    raw[index] = byte
    _refused(await _connect(client, message, "0x" + raw.hex()))
    assert (await _connect(client, message, signature)).status_code == 200
