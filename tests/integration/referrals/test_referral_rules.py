"""Referral acceptance rules: each refusal is reported, never blocks sign-in, and never pays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from social_helpers import activate_via_chat, ledger_entries, projection_caught_up, wait_for

from atlas.app import create_app
from atlas.client.auth import sign_in
from atlas.referrals.service import accept_at_signup


async def _accept(app: Any, invitee: str, code: str) -> tuple[bool, str | None]:
    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        result = await accept_at_signup(conn, invitee=invitee, code=code, at=runtime.clock.now())
    return result.accepted, result.reason


async def _code(client: httpx.AsyncClient, wallet: str) -> str:
    code: str = (await client.get(f"/v1/users/{wallet}")).json()["referral_code"]
    return code


async def test_refusals_are_reported_and_pay_nothing(app: Any, client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    carol = await sign_in(client)
    a_code, c_code = await _code(client, alice.wallet), await _code(client, carol.wallet)

    unknown = await sign_in(client, referral_code="ZZZZZZZZ")
    assert unknown.response is not None
    assert unknown.response["referral"] == {"accepted": False, "reason": "unknown_code"}
    garbage = await sign_in(client, referral_code="not a code at all!")
    assert garbage.response is not None
    assert garbage.response["referral"] == {"accepted": False, "reason": "unknown_code"}

    bob = await sign_in(client, referral_code=a_code)
    assert bob.response is not None
    assert bob.response["referral"]["accepted"] is True
    # A later sign-in with another code: not the first sign-in, so not accepted.
    again = await sign_in(client, account=bob.account, referral_code=c_code)
    assert again.response is not None
    assert again.response["referral"]["accepted"] is False
    # The service itself refuses a second referrer, a self-referral and a cycle.
    assert await _accept(app, bob.wallet, c_code) == (False, "already_referred")
    assert await _accept(app, alice.wallet, a_code) == (False, "self_referral")
    b_code = await _code(client, bob.wallet)
    assert await _accept(app, alice.wallet, b_code) == (False, "cycle")  # bob ← alice already
    dave = await sign_in(client, referral_code=b_code)
    assert dave.response is not None
    assert dave.response["referral"]["accepted"] is True
    assert await _accept(app, alice.wallet, await _code(client, dave.wallet)) == (False, "cycle")
    await wait_for(lambda: projection_caught_up(app, client))

    tree = (await client.get(f"/v1/users/{alice.wallet}/referrals", params={"depth": 2})).json()
    assert [(n["wallet"], n["depth"]) for n in tree["items"]] == [(bob.wallet, 1), (dave.wallet, 2)]
    assert (await client.get(f"/v1/users/{carol.wallet}")).json()["referral_count"] == 0

    # Activation of someone who was never referred pays nothing.
    await client.patch("/v1/users/me", json={"display_name": "Unknown"}, headers=unknown.headers)
    await activate_via_chat(app, unknown.wallet)
    await wait_for(lambda: projection_caught_up(app, client))
    entries = await ledger_entries(client)
    assert [e for e in entries if e["event_type"] in ("POINTS_AWARDED", "REFERRAL_ACTIVATED")] == []
    accepted = [e["payload"] for e in entries if e["event_type"] == "REFERRAL_ACCEPTED"]
    assert sorted((p["referrer"], p["invitee"]) for p in accepted) == sorted(
        [(alice.wallet, bob.wallet), (bob.wallet, dave.wallet)]
    )
    for who in (alice, bob, carol, dave, unknown):
        assert (await client.get(f"/v1/points/{who.wallet}")).json()["balance"] == 0


async def test_activation_needs_a_name_and_works_in_either_order(app: Any, client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    bob = await sign_in(client, referral_code=await _code(client, alice.wallet))
    # Message first (no display name yet): nothing happens...
    await activate_via_chat(app, bob.wallet)
    await wait_for(lambda: projection_caught_up(app, client))
    assert (await client.get(f"/v1/points/{alice.wallet}")).json()["balance"] == 0
    # ...until the name is set, which activates at once.
    await client.patch("/v1/users/me", json={"display_name": "Bob"}, headers=bob.headers)

    async def paid() -> bool:
        return bool((await client.get(f"/v1/points/{alice.wallet}")).json()["balance"] == 100)

    await wait_for(paid)
    # A message in a conversation that is not accepted never activates.
    carol = await sign_in(client, referral_code=await _code(client, alice.wallet))
    await client.patch("/v1/users/me", json={"display_name": "Carol"}, headers=carol.headers)
    from atlas.referrals.service import note_message_sent

    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        await note_message_sent(conn, sender=carol.wallet, conversation_accepted=False, at=runtime.clock.now())
    runtime.committed()
    await wait_for(lambda: projection_caught_up(app, client))
    assert (await client.get(f"/v1/points/{alice.wallet}")).json()["balance"] == 100


@pytest.fixture
async def strict_app(make_settings: Any) -> AsyncIterator[Any]:
    application = create_app(make_settings(rate_referral_lookup="5/minute"))
    async with application.router.lifespan_context(application):
        yield application


async def test_code_guessing_is_rate_limited_per_address(strict_app: Any) -> None:
    transport = httpx.ASGITransport(app=strict_app, client=("203.0.113.7", 4000))
    other = httpx.ASGITransport(app=strict_app, client=("203.0.113.8", 4000))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http,
        httpx.AsyncClient(transport=other, base_url="http://127.0.0.1:8000") as http2,
    ):
        alice = await sign_in(http)
        code = await _code(http, alice.wallet)
        assert (await http.get(f"/v1/referrals/{code}")).status_code == 200  # hits do not count
        for guess in ["AAAAAAAA", "AAAAAAAB", "AAAAAAAC", "AAAAAAAD", "AAAAAAAE"]:
            miss = await http.get(f"/v1/referrals/{guess}")
            assert miss.status_code == 404
            assert miss.json()["code"] == "referral_code_not_found"
        burst = await http.get("/v1/referrals/AAAAAAAF")
        assert burst.status_code == 429
        assert burst.json()["code"] == "rate_limited"
        assert int(burst.headers["retry-after"]) >= 1
        assert (await http.get(f"/v1/referrals/{code}")).status_code == 429  # locked out entirely
        assert (await http2.get(f"/v1/referrals/{code}")).status_code == 200  # another address is not
