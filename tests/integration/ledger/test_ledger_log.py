"""``POST /v1/genesis/log``: authenticated, client-loggable types only, through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select

from atlas.client.auth import sign_evm
from atlas.events.tables import outbox
from atlas.kit.canonical import loads_strict
from atlas.kit.clock import parse_rfc3339
from atlas.ledger import LedgerWriter, NewEntry
from conftest import landed_entry


async def _sign_in(client: httpx.AsyncClient) -> tuple[str, str]:
    account = Account.create()
    challenge = (await client.post("/v1/auth/challenge", json={"address": account.address})).json()
    resp = await client.post(
        "/v1/auth/connect-wallet",
        json={"message": challenge["message"], "signature": sign_evm(account, challenge["message"])},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"], account.address.lower()


@pytest.fixture
async def bridge(app: Any, writer: LedgerWriter) -> AsyncIterator[None]:
    """Stands in for the events domain's relay: copies outbox rows into the ledger."""
    db = app.state.runtime.db

    async def run() -> None:
        while True:
            async with db.read() as conn:
                rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).all()
            await writer.append(
                [NewEntry(r.event_id, r.event_type, r.actor, loads_strict(r.payload), r.occurred_at) for r in rows]
            )
            await asyncio.sleep(0.02)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_stranger_cannot_log(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/genesis/log", json={"event_type": "CONTENT_ACTION", "payload": {"x": 1}})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    forged = await client.post(
        "/v1/genesis/log",
        json={"event_type": "CONTENT_ACTION", "payload": {}},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert forged.status_code == 401


async def test_logged_action_lands_with_the_caller_as_actor(client: httpx.AsyncClient, bridge: None) -> None:
    token, wallet = await _sign_in(client)
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.post(
        "/v1/genesis/log", json={"event_type": "CONTENT_ACTION", "payload": {"liked": "post-1", "n": 2}}, headers=auth
    )
    assert resp.status_code in (201, 202), resp.text
    event_id = resp.json()["event_id"]
    entry = await landed_entry(client, event_id)
    assert entry["actor"] == wallet
    assert entry["event_type"] == "CONTENT_ACTION"
    assert entry["payload"] == {"liked": "post-1", "n": 2}
    if resp.status_code == 201:
        assert resp.json() == {"seq": entry["seq"], "hash": entry["hash"], "event_id": event_id}
    assert parse_rfc3339(entry["timestamp"])


async def test_without_a_relay_the_answer_is_202_pending_or_201(client: httpx.AsyncClient) -> None:
    token, _ = await _sign_in(client)
    resp = await client.post(
        "/v1/genesis/log",
        json={"event_type": "CONTENT_ACTION", "payload": {"a": 1}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code in (201, 202)
    if resp.status_code == 202:
        assert resp.json()["status"] == "pending"
        assert (await client.get(f"/v1/genesis/events/{resp.json()['event_id']}")).status_code in (200, 202)


REFUSALS: list[tuple[dict[str, Any], int, str]] = [
    ({"event_type": "LOGIN", "payload": {}}, 403, "event_type_forbidden"),
    ({"event_type": "POINTS_AWARDED", "payload": {"points": 1000000}}, 403, "event_type_forbidden"),
    ({"event_type": "REFERRAL_ACCEPTED", "payload": {}}, 403, "event_type_forbidden"),
    ({"event_type": "MESSAGE_SENT", "payload": {}}, 403, "event_type_forbidden"),
    ({"event_type": "NOT_A_TYPE", "payload": {}}, 422, "event_type_unknown"),
    ({"event_type": "CONTENT_ACTION", "payload": {"x": 1.5}}, 422, "payload_invalid"),
    ({"event_type": "CONTENT_ACTION", "payload": {"x": 2**60}}, 422, "payload_invalid"),
    ({"event_type": "CONTENT_ACTION", "payload": {"x": "y" * 9000}}, 413, "payload_too_large"),
    ({"event_type": "CONTENT_ACTION", "payload": [1]}, 422, "validation_error"),
    ({"payload": {}}, 422, "validation_error"),
]


async def test_refusals_are_problems_with_codes(app: Any, client: httpx.AsyncClient) -> None:
    token, _ = await _sign_in(client)
    for body, status, code in REFUSALS:
        resp = await client.post("/v1/genesis/log", json=body, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["code"] == code
    async with app.state.runtime.db.read() as conn:
        types = set((await conn.execute(select(outbox.c.event_type))).scalars())
    assert types.isdisjoint({"CONTENT_ACTION", "POINTS_AWARDED", "REFERRAL_ACCEPTED", "MESSAGE_SENT"})
