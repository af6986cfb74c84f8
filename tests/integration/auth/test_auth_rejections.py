"""Every way a sign-in can be wrong is refused with its own code; no tokens, no session, no 500."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from auth_helpers import Flow, assert_rejected
from eth_account import Account
from sqlalchemy import func, select

from atlas.auth.siwe import parse_siwe_message
from atlas.auth.tables import auth_nonces
from atlas.client.auth import sign_evm
from atlas.kit.clock import rfc3339


def _at(delta_seconds: float) -> str:
    return rfc3339(datetime.now(UTC) + timedelta(seconds=delta_seconds))


async def test_valid_sign_in_succeeds_once_then_replay_is_nonce_reused(flow: Flow, account: Any) -> None:
    message, signature = await flow.signed(account)
    first = await flow.connect(message, signature)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "bearer"
    replay = await flow.connect(message, signature)
    assert_rejected(replay, 401, "nonce_reused")
    assert await flow.session_count() == 1


async def test_challenges_store_nothing_and_spent_nonces_are_kept_until_they_expire(flow: Flow, account: Any) -> None:
    """Challenges are signed, not stored; only a spend is recorded (a row here, a key in Redis)."""
    for _ in range(5):
        await flow.challenge(account)
    db = flow.app.state.runtime.db
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(auth_nonces))).scalar_one() == 0
    message, signature = await flow.signed(account)
    assert (await flow.connect(message, signature)).status_code == 200
    if flow.app.state.runtime.settings.redis_url is None:
        async with db.read() as conn:
            rows = (await conn.execute(select(auth_nonces.c.nonce, auth_nonces.c.address))).all()
        assert [(r.nonce, r.address) for r in rows] == [(parse_siwe_message(message).nonce, account.address.lower())]
    assert_rejected(await flow.connect(message, signature), 401, "nonce_reused")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"domain": "evil.example"}, 401, "domain_mismatch"),
        ({"domain": "127.0.0.1:8001"}, 401, "domain_mismatch"),
        ({"scheme": "https"}, 401, "scheme_mismatch"),
        ({"scheme": None}, 401, "scheme_mismatch"),  # EIP-4361: no scheme means https
        ({"uri": "http://127.0.0.1:8000/elsewhere"}, 401, "uri_mismatch"),
        ({"uri": "https://evil.example"}, 401, "uri_mismatch"),
        ({"chain_id": 137}, 400, "chain_not_allowed"),
        ({"statement": "Transfer all my funds."}, 401, "statement_mismatch"),
        ({"statement": None}, 401, "statement_mismatch"),
        ({"expiration_time": "2020-01-01T00:00:00Z"}, 401, "message_expired"),
        ({"not_before": "2999-01-01T00:00:00Z"}, 401, "message_not_yet_valid"),
        ({"issued_at": "2999-01-01T00:00:00Z"}, 401, "issued_at_in_future"),
        ({"issued_at": "2020-01-01T00:00:00Z", "expiration_time": None}, 401, "message_stale"),
        ({"nonce": "neverissued0000"}, 401, "nonce_unknown"),
    ],
)
async def test_altered_then_resigned_message_is_refused(
    flow: Flow, account: Any, changes: dict[str, Any], status: int, code: str
) -> None:
    message, signature = await flow.signed(account, **changes)
    assert_rejected(await flow.connect(message, signature), status, code)
    assert await flow.session_count() == 0


async def test_expired_and_not_yet_valid_relative_to_now(flow: Flow, account: Any) -> None:
    message, signature = await flow.signed(account, expiration_time=_at(-1))
    assert_rejected(await flow.connect(message, signature), 401, "message_expired")
    message, signature = await flow.signed(account, not_before=_at(600))
    assert_rejected(await flow.connect(message, signature), 401, "message_not_yet_valid")
    # Within the clock-skew allowance a slightly-future Not Before is fine.
    message, signature = await flow.signed(account, not_before=_at(5))
    assert (await flow.connect(message, signature)).status_code == 200


async def test_signature_by_another_key(flow: Flow, account: Any) -> None:
    message, signature = await flow.signed(account, signer=Account.create())
    assert_rejected(await flow.connect(message, signature), 401, "signature_invalid")
    assert await flow.session_count() == 0


async def test_message_altered_after_signing(flow: Flow, account: Any) -> None:
    message, signature = await flow.signed(account)
    parsed = parse_siwe_message(message)
    later = rfc3339(parsed.expiration + timedelta(seconds=60))  # type: ignore[operator]  # has one
    for altered in (
        message.replace(f"Expiration Time: {parsed.expiration_time}", f"Expiration Time: {later}"),
        message.replace(parsed.address, Account.create().address),
    ):
        assert altered != message
        assert_rejected(await flow.connect(altered, signature), 401, "signature_invalid")
    # The untouched original still works: the failed attempt did not burn the nonce.
    assert (await flow.connect(message, signature)).status_code == 200


async def test_non_checksummed_address(flow: Flow, account: Any) -> None:
    text = (await flow.challenge(account))["message"]
    lines = text.split("\n")
    lines[1] = lines[1].lower()
    lowered = "\n".join(lines)
    assert_rejected(await flow.connect(lowered, sign_evm(account, lowered)), 400, "address_not_checksummed")


async def test_nonce_issued_for_another_address(flow: Flow, account: Any) -> None:
    victim = Account.create()
    victim_nonce = (await flow.challenge(victim))["nonce"]
    message, signature = await flow.signed(account, nonce=victim_nonce)
    assert_rejected(await flow.connect(message, signature), 401, "nonce_address_mismatch")
    # The victim's own sign-in with that nonce is unaffected.
    message, signature = await flow.signed(victim, nonce=victim_nonce)
    assert (await flow.connect(message, signature)).status_code == 200


@pytest.mark.parametrize(
    ("signature", "status", "code"),
    [
        ("0x" + "00" * 65, 401, "signature_invalid"),
        ("0x" + "ab" * 65, 401, "signature_invalid"),
        ("not a signature", 400, "signature_malformed"),
        ("0x123", 400, "signature_malformed"),
        ("0x" + "zz" * 65, 400, "signature_malformed"),
        ("0x" + "11" * 70, 401, "contract_wallet_unsupported"),
    ],
)
async def test_garbage_signature(flow: Flow, account: Any, signature: str, status: int, code: str) -> None:
    message = (await flow.challenge(account))["message"]
    assert_rejected(await flow.connect(message, signature), status, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "validation_error"),
        ({}, "validation_error"),
        ({"message": "", "signature": ""}, "validation_error"),
        ({"message": "hello", "signature": "0x00"}, "message_malformed"),
        ({"message": 5, "signature": []}, "validation_error"),
    ],
)
async def test_empty_or_malformed_bodies(client: httpx.AsyncClient, body: Any, code: str) -> None:
    resp = await client.post("/v1/auth/connect-wallet", json=body) if body is not None else await client.post(
        "/v1/auth/connect-wallet"
    )
    assert resp.status_code in (400, 422), resp.text
    assert resp.json()["code"] == code


async def test_malformed_json_and_wrong_content_type(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/auth/connect-wallet", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "malformed_json"
    resp = await client.post("/v1/auth/challenge", content=b"address=x", headers={"content-type": "text/plain"})
    assert resp.status_code == 415


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"address": "0x1234"}, 400, "address_invalid"),
        ({"address": "0x" + "g" * 40}, 400, "address_invalid"),
        ({"address": "0x+" + "1" * 39}, 400, "address_invalid"),
        ({"address": "0x1_" + "1" * 38}, 400, "address_invalid"),
        ({"address": "0x" + "1" * 39 + "\u0661"}, 400, "address_invalid"),
        ({"address": "0x" + "11" * 20, "chain_id": 5}, 400, "chain_not_allowed"),
        ({"address": "0x" + "11" * 20, "chain": "eip155:10"}, 400, "chain_not_allowed"),
        ({"address": "0x" + "11" * 20, "chain": "cosmos:hub"}, 400, "chain_not_allowed"),
        ({"address": "0x" + "11" * 20, "chain": "solana:notacluster"}, 400, "chain_not_allowed"),
        ({"address": "0x" + "11" * 20, "chain": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"}, 400, "address_invalid"),
        ({"address": "0x" + "11" * 20, "chain_id": -1}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
async def test_challenge_refusals(client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str) -> None:
    resp = await client.post("/v1/auth/challenge", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code


async def test_twenty_concurrent_submissions_yield_one_session(flow: Flow, account: Any) -> None:
    message, signature = await flow.signed(account)
    responses = await asyncio.gather(*(flow.connect(message, signature) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert all(r.json()["code"] == "nonce_reused" for r in responses if r.status_code != 200)
    assert await flow.session_count() == 1


async def test_mixed_concurrent_batch_gets_each_outcome_right(flow: Flow) -> None:
    alice, bob, mallory = Account.create(), Account.create(), Account.create()
    a_msg, a_sig = await flow.signed(alice)
    b_msg, b_sig = await flow.signed(bob)
    a_nonce = parse_siwe_message(a_msg).nonce
    m_msg, m_sig = await flow.signed(mallory, nonce=a_nonce)  # Mallory tries Alice's nonce
    results = await asyncio.gather(
        flow.connect(m_msg, m_sig),
        flow.connect(a_msg, a_sig),
        flow.connect(b_msg, b_sig),
        flow.connect(b_msg, b_sig),
        flow.connect(a_msg, a_sig),
    )
    assert_rejected(results[0], 401, "nonce_address_mismatch")
    ok = [r for r in results if r.status_code == 200]
    assert sorted(r.json()["wallet"] for r in ok) == sorted([alice.address.lower(), bob.address.lower()])
    assert sorted(r.json()["code"] for r in results[1:] if r.status_code != 200) == ["nonce_reused", "nonce_reused"]
    assert await flow.session_count() == 2
