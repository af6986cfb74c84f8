"""SQL for referrals: the write side on ``users`` (referrer, activation) and the graph projection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.referrals.tables import referral_edges, referral_progress
from atlas.users.tables import users


async def user_by_code(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(users.c.wallet, users.c.display_name, users.c.referral_code).where(users.c.referral_code == code)
        )
    ).mappings().first()
    return dict(row) if row else None


async def referral_state(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(users.c.wallet, users.c.referred_by, users.c.activated_at, users.c.display_name).where(
                users.c.wallet == wallet
            )
        )
    ).mappings().first()
    return dict(row) if row else None


async def is_ancestor(conn: AsyncConnection, *, candidate: str, of: str) -> bool:
    """True when ``candidate`` is ``of`` or appears on ``of``'s referrer chain (a cycle in the making)."""
    chain = select(users.c.wallet, users.c.referred_by, literal(0).label("depth")).where(users.c.wallet == of)
    chain_cte = chain.cte("chain", recursive=True)
    step = select(users.c.wallet, users.c.referred_by, (chain_cte.c.depth + 1).label("depth")).where(
        and_(users.c.wallet == chain_cte.c.referred_by, chain_cte.c.depth < 10_000)
    )
    chain_cte = chain_cte.union_all(step)
    found = await conn.execute(select(chain_cte.c.wallet).where(chain_cte.c.wallet == candidate).limit(1))
    return found.first() is not None


async def set_referrer(conn: AsyncConnection, *, invitee: str, referrer: str, at: datetime) -> bool:
    result = await conn.execute(
        update(users)
        .where(users.c.wallet == invitee, users.c.referred_by.is_(None))
        .values(referred_by=referrer, referral_accepted_at=at, updated_at=at)
    )
    return result.rowcount == 1


async def mark_activated(conn: AsyncConnection, *, invitee: str, at: datetime) -> str | None:
    """Activate once; the referrer when this call did it, else None (already active, or no referrer)."""
    result = await conn.execute(
        update(users)
        .where(users.c.wallet == invitee, users.c.activated_at.is_(None), users.c.referred_by.is_not(None))
        .values(activated_at=at)
        .returning(users.c.referred_by)
    )
    row = result.first()
    return str(row.referred_by) if row else None


async def lock_user(conn: AsyncConnection, wallet: str) -> None:
    """Serialise concurrent activations of one referrer's invitees (a no-op on SQLite's single writer)."""
    await conn.execute(select(users.c.wallet).where(users.c.wallet == wallet).with_for_update())


async def count_activated(conn: AsyncConnection, referrer: str) -> int:
    n = await conn.scalar(
        select(func.count()).select_from(users).where(users.c.referred_by == referrer, users.c.activated_at.is_not(None))
    )
    return int(n or 0)


async def note_progress(conn: AsyncConnection, *, wallet: str, at: datetime) -> None:
    values = {"wallet": wallet, "first_message_at": at}
    if conn.dialect.name == "postgresql":
        await conn.execute(postgresql.insert(referral_progress).values(**values).on_conflict_do_nothing())
    else:
        await conn.execute(sqlite.insert(referral_progress).values(**values).on_conflict_do_nothing())


async def has_progress(conn: AsyncConnection, wallet: str) -> bool:
    row = await conn.execute(select(referral_progress.c.wallet).where(referral_progress.c.wallet == wallet))
    return row.first() is not None


async def clear_progress(conn: AsyncConnection, wallet: str) -> None:
    await conn.execute(delete(referral_progress).where(referral_progress.c.wallet == wallet))


# -- graph projection reads ---------------------------------------------------------------------

async def referral_count(conn: AsyncConnection, wallet: str) -> int:
    n = await conn.scalar(select(func.count()).select_from(referral_edges).where(referral_edges.c.referrer == wallet))
    return int(n or 0)


async def children_of(conn: AsyncConnection, referrers: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(referrers), 400):
        part = referrers[i : i + 400]
        rows = await conn.execute(
            select(referral_edges, users.c.display_name)
            .select_from(referral_edges.outerjoin(users, users.c.wallet == referral_edges.c.invitee))
            .where(referral_edges.c.referrer.in_(part))
        )
        out += [dict(r) for r in rows.mappings()]
    return out


async def counts_by_referrer(conn: AsyncConnection, referrers: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(0, len(referrers), 400):
        part = referrers[i : i + 400]
        rows = await conn.execute(
            select(referral_edges.c.referrer, func.count())
            .where(referral_edges.c.referrer.in_(part))
            .group_by(referral_edges.c.referrer)
        )
        out.update({str(r[0]): int(r[1]) for r in rows})
    return out
