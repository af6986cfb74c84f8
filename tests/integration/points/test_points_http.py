"""Points are public to read and impossible for clients to write."""

from __future__ import annotations

from typing import Any

import httpx
from social_helpers import ledger_entries, projection_caught_up, wait_for

from atlas.client.auth import sign_in


async def test_clients_cannot_award_points(app: Any, client: httpx.AsyncClient) -> None:
    mallory = await sign_in(client)
    forged = await client.post(
        "/v1/genesis/log",
        json={"event_type": "POINTS_AWARDED", "payload": {"wallet": mallory.wallet, "points": 10**6, "reason": "x",
                                                          "rule_version": 1, "source_event_id": "x"}},
        headers=mallory.headers,
    )
    assert 400 <= forged.status_code < 500
    assert forged.headers["content-type"].startswith("application/problem+json")
    # A loggable entry that merely looks like an award counts for nothing.
    lookalike = await client.post(
        "/v1/genesis/log",
        json={"event_type": "CONTENT_ACTION", "payload": {"wallet": mallory.wallet, "points": 10**6}},
        headers=mallory.headers,
    )
    # (201/202 once the client log endpoint exists; any 4xx refusal is also fine here.)
    assert lookalike.status_code in (201, 202) or 400 <= lookalike.status_code < 500, lookalike.text
    await wait_for(lambda: projection_caught_up(app, client))
    assert all(e["event_type"] != "POINTS_AWARDED" for e in await ledger_entries(client))
    points = (await client.get(f"/v1/points/{mallory.wallet.upper().replace('0X', '0x')}")).json()
    assert points == {"wallet": mallory.wallet, "balance": 0, "awards": [], "next_after": None}


async def test_unknown_and_invalid_wallets(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/points/0x" + "ab" * 20)
    assert missing.status_code == 404
    assert missing.json()["code"] == "user_not_found"
    invalid = await client.get("/v1/points/0xnothex")
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "wallet_invalid"
