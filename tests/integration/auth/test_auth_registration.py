"""First sign-in registers the account (UserRegistered), every sign-in logs in (Login), via the outbox."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
from eth_account import Account
from sqlalchemy import select

from atlas.auth.tokens import session_hash
from atlas.client.auth import sign_in
from atlas.events.tables import outbox
from atlas.users.service import REFERRAL_ALPHABET, normalize_referral_code, register_if_new
from atlas.users.tables import users


async def _events(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    async with app.state.runtime.db.read() as conn:
        rows = await conn.execute(select(outbox.c.event_type, outbox.c.actor, outbox.c.payload).order_by(outbox.c.id))
        return [(r.event_type, r.actor, json.loads(r.payload)) for r in rows]


async def _user(app: Any, wallet: str) -> Any:
    async with app.state.runtime.db.read() as conn:
        return (await conn.execute(select(users).where(users.c.wallet == wallet))).first()


async def test_first_sign_in_registers_and_every_sign_in_logs_in(client: httpx.AsyncClient, app: Any) -> None:
    first = await sign_in(client)
    again = await sign_in(client, first.account)
    assert first.response is not None
    assert again.response is not None
    assert first.response["registered"] is True
    assert again.response["registered"] is False
    row = await _user(app, first.wallet)
    assert row.chain == "eip155:1"
    assert re.fullmatch(f"[{REFERRAL_ALPHABET}]{{8}}", row.referral_code)
    assert row.display_name is None
    events = await _events(app)
    assert [(t, a) for t, a, _ in events] == [
        ("USER_REGISTERED", first.wallet),
        ("LOGIN", first.wallet),
        ("LOGIN", first.wallet),
    ]
    assert events[0][2] == {"chain": "eip155:1", "referral_code": row.referral_code}
    assert events[1][2] == {"chain": "eip155:1", "session_hash": session_hash(first.session_id)}
    # No token or session id in any payload.
    for _, _, payload in events:
        text = json.dumps(payload)
        assert first.access_token not in text
        assert first.refresh_token not in text
        assert first.session_id not in text


async def test_profile_exists_once_display_name_is_set(client: httpx.AsyncClient, app: Any) -> None:
    me = await sign_in(client)
    async with app.state.runtime.db.write() as conn:
        await conn.execute(users.update().where(users.c.wallet == me.wallet).values(display_name="Ada"))
    again = await sign_in(client, me.account)
    assert again.response is not None
    assert again.response["profile_exists"] is True


async def test_referral_outcome_is_reported_and_never_blocks(client: httpx.AsyncClient) -> None:
    new = await sign_in(client, referral_code="NOSUCHCODE")
    assert new.response is not None
    referral = new.response["referral"]
    assert referral["accepted"] is False
    assert isinstance(referral["reason"], str)
    again = await sign_in(client, new.account, referral_code="ABCDEFGH")
    assert again.response is not None
    assert again.response["referral"] == {"accepted": False, "reason": "already_registered"}


async def test_register_if_new_is_idempotent_under_concurrency(app: Any) -> None:
    db = app.state.runtime.db
    wallet = Account.create().address.lower()
    now = app.state.runtime.clock.now()

    async def attempt() -> bool:
        async with db.write() as conn:
            return await register_if_new(conn, wallet=wallet, chain="eip155:1", at=now)

    results = await asyncio.gather(*(attempt() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


def test_referral_code_normalisation() -> None:
    assert normalize_referral_code("abcd-efgh") == "ABCDEFGH"
    assert normalize_referral_code(" 0o1l-iabc ") == "00111ABC"
    assert normalize_referral_code("ABCDEFGU") is None  # U is not in the alphabet
    assert normalize_referral_code("SHORT") is None


async def test_concurrent_first_sign_ins_of_one_wallet_register_once(client: httpx.AsyncClient, app: Any) -> None:
    account = Account.create()
    results = await asyncio.gather(*(sign_in(client, account) for _ in range(6)))
    flags = [r.response["registered"] for r in results if r.response is not None]
    assert sorted(flags) == [False] * 5 + [True]
    kinds = [t for t, a, _ in await _events(app) if a == account.address.lower()]
    assert kinds.count("USER_REGISTERED") == 1
    assert kinds.count("LOGIN") == 6
    assert kinds.index("USER_REGISTERED") < kinds.index("LOGIN")
