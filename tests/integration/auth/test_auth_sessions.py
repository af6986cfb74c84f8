"""Sessions end to end over HTTP: refresh rotation, reuse detection, logout, revocation, strangers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from atlas.app import create_app
from atlas.client.auth import AtlasClient, SignedIn, sign_in
from atlas.kit.clock import FrozenClock


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_old_token_is_spent(client: httpx.AsyncClient) -> None:
    me = await sign_in(client)
    first = await _refresh(client, me.refresh_token)
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != me.refresh_token
    assert pair["access_token"] != me.access_token
    assert pair["wallet"] == me.wallet
    assert pair["session_id"] == me.session_id
    # The new access token works; so does the next rotation.
    assert (await client.get("/v1/auth/session", headers=bearer(pair["access_token"]))).status_code == 200
    second = await _refresh(client, pair["refresh_token"])
    assert second.status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(client: httpx.AsyncClient) -> None:
    me = await sign_in(client)
    other = await sign_in(client, me.account)  # a second, unrelated session of the same wallet
    rotated = (await _refresh(client, me.refresh_token)).json()
    # An attacker replays the stolen, already-spent token.
    reuse = await _refresh(client, me.refresh_token)
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    assert reuse.headers["www-authenticate"].startswith("Bearer")
    # Every token of that family is dead at once: both access tokens and the current refresh token.
    for token in (me.access_token, rotated["access_token"]):
        resp = await client.get("/v1/auth/session", headers=bearer(token))
        assert resp.status_code == 401
        assert resp.json()["code"] == "session_revoked"
    after = await _refresh(client, rotated["refresh_token"])
    assert after.status_code == 401
    assert after.json()["code"] == "session_revoked"
    # The wallet's other session is untouched.
    assert (await client.get("/v1/auth/session", headers=other.headers)).status_code == 200


async def test_unknown_refresh_token(client: httpx.AsyncClient) -> None:
    resp = await _refresh(client, "atr_nope")
    assert resp.status_code == 401
    assert resp.json()["code"] == "refresh_token_invalid"
    resp = await client.post("/v1/auth/refresh", json={})
    assert resp.status_code == 422


async def test_logout_ends_access_and_refresh_at_once(client: httpx.AsyncClient) -> None:
    me = await sign_in(client)
    assert (await client.post("/v1/auth/logout", headers=me.headers)).status_code == 204
    resp = await client.get("/v1/auth/sessions", headers=me.headers)
    assert resp.status_code == 401
    assert resp.json()["code"] == "session_revoked"
    assert (await _refresh(client, me.refresh_token)).json()["code"] == "session_revoked"
    assert (await client.post("/v1/auth/logout", headers=me.headers)).status_code == 401


async def test_sessions_list_and_delete_own(client: httpx.AsyncClient) -> None:
    laptop = await sign_in(client)
    phone = await sign_in(client, laptop.account)
    listed = (await client.get("/v1/auth/sessions", headers=laptop.headers)).json()["sessions"]
    assert {s["session_id"] for s in listed} == {laptop.session_id, phone.session_id}
    assert [s["current"] for s in listed if s["session_id"] == laptop.session_id] == [True]
    for s in listed:
        assert s["wallet"] == laptop.wallet
        assert s["chain_id"] == "eip155:1"
        assert s["created_at"].endswith("Z")
        assert s["last_used_at"].endswith("Z")
    # Sign the phone out from the laptop: the phone's token fails at once.
    resp = await client.delete(f"/v1/auth/sessions/{phone.session_id}", headers=laptop.headers)
    assert resp.status_code == 204
    assert (await client.get("/v1/auth/session", headers=phone.headers)).json()["code"] == "session_revoked"
    listed = (await client.get("/v1/auth/sessions", headers=laptop.headers)).json()["sessions"]
    assert [s["session_id"] for s in listed] == [laptop.session_id]
    again = await client.delete(f"/v1/auth/sessions/{phone.session_id}", headers=laptop.headers)
    assert again.status_code == 404


async def test_stranger_cannot_list_or_delete_your_sessions(client: httpx.AsyncClient) -> None:
    victim = await sign_in(client)
    stranger = await sign_in(client)
    listed = (await client.get("/v1/auth/sessions", headers=stranger.headers)).json()["sessions"]
    assert [s["session_id"] for s in listed] == [stranger.session_id]
    resp = await client.delete(f"/v1/auth/sessions/{victim.session_id}", headers=stranger.headers)
    assert resp.status_code == 404
    assert resp.json()["code"] == "session_not_found"
    assert (await client.get("/v1/auth/session", headers=victim.headers)).status_code == 200
    # Without a token, nothing at all.
    for method, path in (("GET", "/v1/auth/sessions"), ("DELETE", f"/v1/auth/sessions/{victim.session_id}")):
        resp = await client.request(method, path)
        assert resp.status_code == 401
        assert resp.json()["code"] == "token_missing"
        assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer not.a.jwt", "token_invalid"),
        ("Bearer ", "token_invalid"),
        ("Basic dXNlcjpwYXNz", "token_invalid"),
        ("Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.", "token_invalid"),
    ],
)
async def test_bad_bearer_tokens(client: httpx.AsyncClient, header: str, code: str) -> None:
    resp = await client.get("/v1/auth/session", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.json()["code"] == code
    assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_session_confirms_the_bound_account(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    bob = await sign_in(client)
    assert (await client.get("/v1/auth/session", headers=alice.headers)).json()["wallet"] == alice.wallet
    assert (await client.get("/v1/auth/session", headers=bob.headers)).json()["wallet"] == bob.wallet


async def test_token_signed_with_another_secret_is_refused(client: httpx.AsyncClient, make_settings: Any) -> None:
    other_app = create_app(make_settings(secret_key="another-deployment-secret-0123456789"))
    async with other_app.router.lifespan_context(other_app):
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as other:
            forged: SignedIn = await sign_in(other)
    resp = await client.get("/v1/auth/session", headers=forged.headers)
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_invalid"


@pytest.fixture
async def frozen() -> FrozenClock:
    from datetime import UTC, datetime

    return FrozenClock(datetime.now(UTC))


@pytest.fixture
async def clocked_client(settings: Any, frozen: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=frozen)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            yield http


async def test_access_token_expires_and_refresh_renews(
    clocked_client: httpx.AsyncClient, frozen: FrozenClock, settings: Any
) -> None:
    atlas = AtlasClient(http=clocked_client)
    from eth_account import Account

    await atlas.sign_in(Account.create())
    frozen.advance(settings.access_token_ttl_seconds + 1)
    resp = await clocked_client.get("/v1/auth/session", headers=atlas.headers)
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"
    await atlas.refresh()
    assert (await clocked_client.get("/v1/auth/session", headers=atlas.headers)).status_code == 200
    # Past the refresh family's lifetime nothing renews it.
    frozen.advance(settings.refresh_token_ttl_seconds + 1)
    resp = await clocked_client.post("/v1/auth/refresh", json={"refresh_token": atlas.tokens.refresh_token})  # type: ignore[union-attr]
    assert resp.status_code == 401
    assert resp.json()["code"] == "refresh_token_expired"


async def test_challenge_nonce_expires(clocked_client: httpx.AsyncClient, frozen: FrozenClock, settings: Any) -> None:
    from eth_account import Account

    from atlas.client.auth import sign_evm

    account = Account.create()
    challenge = (await clocked_client.post("/v1/auth/challenge", json={"address": account.address})).json()
    frozen.advance(settings.challenge_ttl_seconds + 1)
    resp = await clocked_client.post(
        "/v1/auth/connect-wallet",
        json={"message": challenge["message"], "signature": sign_evm(account, challenge["message"])},
    )
    assert resp.status_code == 401
    assert resp.json()["code"] == "message_expired"


async def test_one_account_across_evm_chains(make_settings: Any) -> None:
    from eth_account import Account

    app = create_app(make_settings(chain_ids=(1, 137)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            account = Account.create()
            mainnet = await sign_in(http, account, chain_id=1)
            polygon = await sign_in(http, account, chain_id=137)
            assert mainnet.wallet == polygon.wallet
            assert polygon.response is not None
            assert polygon.response["registered"] is False
            assert polygon.response["chain"] == "eip155:137"
            chains = {
                s["session_id"]: s["chain_id"]
                for s in (await http.get("/v1/auth/sessions", headers=polygon.headers)).json()["sessions"]
            }
            assert chains == {mainnet.session_id: "eip155:1", polygon.session_id: "eip155:137"}
            resp = await http.post("/v1/auth/challenge", json={"address": account.address, "chain_id": 10})
            assert resp.json()["code"] == "chain_not_allowed"
