"""Coherence reads: the stored score and its explanation from the same projected facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence import repository
from atlas.coherence.formula import FORMULA_VERSION
from atlas.users import profile_repository
from atlas.users.errors import UserNotFound


async def _require_user(conn: AsyncConnection, wallet: str) -> None:
    if not await profile_repository.user_exists(conn, wallet):
        raise UserNotFound("No account with this wallet.")


async def score_of(conn: AsyncConnection, wallet: str) -> dict[str, Any]:
    row = await repository.get_score(conn, wallet)
    if row is None:
        await _require_user(conn, wallet)
        # Registered, but the USER_REGISTERED entry has not reached the projection yet.
        return {"wallet": wallet, "score": 0, "trust_level": "UNKNOWN", "formula_version": FORMULA_VERSION, "as_of_seq": None}
    return {
        "wallet": wallet,
        "score": row["score"],
        "trust_level": row["trust_level"],
        "formula_version": row["formula_version"],
        "as_of_seq": row["as_of_seq"],
    }


async def explain(conn: AsyncConnection, wallet: str) -> dict[str, Any]:
    state = await repository.load_wallet_state(conn, wallet)
    breakdown = state.breakdown(wallet)
    if breakdown is None:
        base = await score_of(conn, wallet)
        return {**base, "as_of_timestamp": None, "registered_seq": None, "terms": []}
    account = state.accounts[wallet]
    return {
        "wallet": wallet,
        # The stored figures; the terms are recomputed from the same facts and add up to them.
        "score": account.score,
        "trust_level": account.trust_level,
        "formula_version": account.formula_version,
        "as_of_seq": account.as_of_seq,
        "as_of_timestamp": account.as_of_at,
        "registered_seq": account.registered_seq,
        "terms": [
            {"name": t.name, "value": t.value, "count": t.count, "cap": t.cap, "seqs": list(t.seqs)}
            for t in breakdown.terms
        ],
    }
