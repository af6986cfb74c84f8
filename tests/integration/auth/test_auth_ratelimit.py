"""Bursts on the sign-in endpoints are throttled per client address and per wallet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from eth_account import Account

from atlas.app import create_app


@pytest.fixture
async def limited(make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(rate_auth="5/minute"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            yield http


async def test_challenge_burst_from_one_client_is_throttled(limited: httpx.AsyncClient) -> None:
    codes = []
    for _ in range(8):
        resp = await limited.post("/v1/auth/challenge", json={"address": Account.create().address})
        codes.append(resp.status_code)
    assert codes == [200] * 5 + [429] * 3
    resp = await limited.post("/v1/auth/challenge", json={"address": Account.create().address})
    assert resp.status_code == 429
    body = resp.json()
    assert body["code"] == "rate_limited"
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(resp.headers["retry-after"]) <= 60


async def test_budgets_are_separate_per_endpoint(limited: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await limited.post("/v1/auth/challenge", json={"address": Account.create().address})).status_code == 200
    # Challenge is exhausted; refresh and connect still have their own budgets.
    assert (await limited.post("/v1/auth/refresh", json={"refresh_token": "atr_x"})).status_code == 401
    resp = await limited.post("/v1/auth/connect-wallet", json={"message": "x", "signature": "0x00"})
    assert resp.status_code == 400
    for _ in range(5):
        await limited.post("/v1/auth/refresh", json={"refresh_token": "atr_x"})
    assert (await limited.post("/v1/auth/refresh", json={"refresh_token": "atr_x"})).status_code == 429


async def test_one_wallet_is_throttled_across_client_addresses(make_settings: Any) -> None:
    app = create_app(make_settings(rate_auth="3/minute"))
    address = Account.create().address
    async with app.router.lifespan_context(app):
        statuses = []
        for i in range(5):
            transport = httpx.ASGITransport(app=app, client=(f"10.0.0.{i + 1}", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
                statuses.append((await http.post("/v1/auth/challenge", json={"address": address})).status_code)
    assert statuses == [200, 200, 200, 429, 429]


async def test_refresh_is_limited_per_wallet_across_client_addresses(make_settings: Any) -> None:
    from atlas.client.auth import sign_in

    app = create_app(make_settings(rate_auth="3/minute"))
    async with app.router.lifespan_context(app):
        statuses = []
        transport = httpx.ASGITransport(app=app, client=("10.1.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            me = await sign_in(http)
        token = me.refresh_token
        for i in range(5):
            transport = httpx.ASGITransport(app=app, client=(f"10.2.0.{i + 1}", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
                resp = await http.post("/v1/auth/refresh", json={"refresh_token": token})
                statuses.append(resp.status_code)
                if resp.status_code == 200:
                    token = resp.json()["refresh_token"]
    assert statuses == [200, 200, 200, 429, 429]
