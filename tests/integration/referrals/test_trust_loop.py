"""The trust loop end to end through HTTP: share a link, sign in with it, activate, get paid,
prove it from the ledger, and replay every figure from the ledger alone."""

from __future__ import annotations

import time
from typing import Any

import httpx
from social_helpers import (
    activate_via_chat,
    ledger_entries,
    projection_caught_up,
    prove_entry,
    replay_cli,
    run_replay,
    wait_for,
)
from sqlalchemy import text

from atlas.client.auth import sign_in
from atlas.config import Settings


async def test_alice_invites_bob_and_everything_is_provable(
    app: Any, client: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await sign_in(client)
    profile = (await client.get(f"/v1/users/{alice.wallet}")).json()
    code = profile["referral_code"]
    assert profile["referral_link"] == f"{settings.public_url}/?ref={code}"
    owner = await client.get(f"/v1/referrals/{code.lower()}")
    assert owner.status_code == 200
    assert owner.json()["wallet"] == alice.wallet

    bob = await sign_in(client, referral_code=code.lower())  # from the link, typed in lower case
    assert bob.response is not None
    assert bob.response["referral"] == {"accepted": True, "reason": None}

    # Bob activates: a display name, then his first message in an accepted conversation.
    resp = await client.patch("/v1/users/me", json={"display_name": "Bob"}, headers=bob.headers)
    assert resp.status_code == 200, resp.text
    assert (await client.get(f"/v1/points/{alice.wallet}")).json()["balance"] == 0  # not paid yet
    await activate_via_chat(app, bob.wallet)
    started = time.monotonic()

    async def alice_paid() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/points/{alice.wallet}")).json()
        return body if body["balance"] == 100 else None

    points = await wait_for(alice_paid, timeout=10)
    latency = time.monotonic() - started
    print(f"award visible after {latency * 1000:.0f} ms")
    profile = (await client.get(f"/v1/users/{alice.wallet}")).json()
    assert profile["genesis_points"] == 100
    assert profile["referral_count"] == 1
    [award] = points["awards"]
    assert award["points"] == 100
    assert award["reason"] == "referral_activated"

    entries = {e["seq"]: e for e in await ledger_entries(client)}
    assert entries[award["seq"]]["event_type"] == "POINTS_AWARDED"
    assert entries[award["seq"]]["actor"] == "system"
    assert entries[award["seq"]]["payload"]["wallet"] == alice.wallet
    assert entries[award["source_seq"]]["event_type"] == "REFERRAL_ACTIVATED"
    assert entries[award["source_seq"]]["payload"] == {"referrer": alice.wallet, "invitee": bob.wallet}
    await prove_entry(client, award["seq"])
    types = {e["event_type"] for e in entries.values()}
    assert {"USER_REGISTERED", "LOGIN", "REFERRAL_ACCEPTED", "REFERRAL_ACTIVATED", "POINTS_AWARDED"} <= types

    bob_points = (await client.get(f"/v1/points/{bob.wallet}")).json()
    assert bob_points["balance"] == 50
    assert bob_points["awards"][0]["source_seq"] == award["source_seq"]

    tree = (await client.get(f"/v1/users/{alice.wallet}/referrals")).json()
    assert [(n["wallet"], n["activated"], n["depth"]) for n in tree["items"]] == [(bob.wallet, True, 1)]
    assert tree["referral_count"] == 1
    assert tree["activated_count"] == 1

    explain = (await client.get(f"/v1/explain/coherence/{alice.wallet}")).json()
    terms = {t["name"]: t for t in explain["terms"]}
    assert terms["activated_referrals"]["value"] == 300
    assert terms["activated_referrals"]["seqs"] == [award["source_seq"]]
    coherence = (await client.get(f"/v1/coherence/{alice.wallet}")).json()
    assert coherence["score"] == explain["score"] == sum(t["value"] for t in explain["terms"])
    assert coherence["as_of_seq"] >= award["seq"]

    # A second message changes nothing: activation pays once.
    await activate_via_chat(app, bob.wallet)
    await wait_for(lambda: projection_caught_up(app, client))
    assert (await client.get(f"/v1/points/{alice.wallet}")).json()["balance"] == 100

    code, out = await replay_cli(settings)  # the typer command, in-process
    assert code == 0, out
    assert "replay ok" in out

    async with app.state.runtime.db.write() as conn:
        await conn.execute(
            text("UPDATE points_balances SET balance = 1000 WHERE wallet = :w"), {"w": alice.wallet}
        )
    drifted = run_replay(settings)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert f"points_balances[{alice.wallet}].balance: live=1000 replayed=100" in drifted.stdout
