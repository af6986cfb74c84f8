"""End-to-end happy path through HTTP: challenge, connect, session, refresh, logout."""

from __future__ import annotations

import httpx

from atlas.client.auth import sign_in, sign_in_solana


async def test_sign_in_then_session_refresh_logout(client: httpx.AsyncClient) -> None:
    me = await sign_in(client)
    assert me.wallet == me.account.address.lower()
    assert me.response is not None
    assert me.response["registered"] is True
    assert me.response["profile_exists"] is False
    assert me.response["referral"] is None
    session = (await client.get("/v1/auth/session", headers=me.headers)).json()
    assert session["wallet"] == me.wallet
    assert session["chain_id"] == "eip155:1"
    assert session["current"] is True
    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": me.refresh_token})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != me.refresh_token
    out = await client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert out.status_code == 204
    after = await client.get("/v1/auth/session", headers=me.headers)
    assert after.status_code == 401
    assert after.json()["code"] == "session_revoked"


async def test_solana_sign_in(client: httpx.AsyncClient) -> None:
    me = await sign_in_solana(client)
    session = (await client.get("/v1/auth/session", headers=me.headers)).json()
    assert session["wallet"] == me.wallet
    assert session["chain_id"].startswith("solana:")
