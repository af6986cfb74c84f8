"""Genesis Points reads. Awards are written only by the server, through the ledger (see
atlas.referrals.service.activate); here they are read back from the projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.points import repository
from atlas.users import profile_repository
from atlas.users.errors import UserNotFound


async def points_of(conn: AsyncConnection, wallet: str, *, after: int, limit: int) -> dict[str, Any]:
    if not await profile_repository.user_exists(conn, wallet):
        raise UserNotFound("No account with this wallet.")
    awards = await repository.awards(conn, wallet, after_seq=after, limit=limit + 1)
    more = len(awards) > limit
    awards = awards[:limit]
    return {
        "wallet": wallet,
        "balance": await repository.balance(conn, wallet),
        "awards": awards,
        "next_after": awards[-1]["seq"] if more else None,
    }
