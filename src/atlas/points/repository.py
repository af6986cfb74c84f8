"""SQL reads of the Genesis Points projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.points.tables import points_awards, points_balances


async def balance(conn: AsyncConnection, wallet: str) -> int:
    value = await conn.scalar(select(points_balances.c.balance).where(points_balances.c.wallet == wallet))
    return int(value or 0)


async def awards(conn: AsyncConnection, wallet: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(
            points_awards.c.seq,
            points_awards.c.points,
            points_awards.c.reason,
            points_awards.c.rule_version,
            points_awards.c.source_seq,
        )
        .where(points_awards.c.wallet == wallet, points_awards.c.seq > after_seq)
        .order_by(points_awards.c.seq)
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]
