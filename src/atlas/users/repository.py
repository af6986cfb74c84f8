"""SQL for the ``users`` table (registration side)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.users.tables import users


async def insert_if_absent(
    conn: AsyncConnection, *, wallet: str, chain: str, referral_code: str, at: datetime
) -> bool:
    """Insert a user row unless any unique key (wallet or code) is taken; True when inserted.

    ``ON CONFLICT DO NOTHING`` rather than catching an IntegrityError: on PostgreSQL a failed
    INSERT would abort the caller's whole transaction.
    """
    values = {
        "wallet": wallet,
        "chain": chain,
        "created_at": at,
        "updated_at": at,
        "referral_code": referral_code,
    }
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(users).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(users).values(**values).on_conflict_do_nothing()  # type: ignore[assignment]  # same shape, other dialect
    result = await conn.execute(stmt)
    return result.rowcount == 1


async def exists(conn: AsyncConnection, wallet: str) -> bool:
    row = await conn.execute(select(users.c.wallet).where(users.c.wallet == wallet))
    return row.first() is not None


async def profile_exists(conn: AsyncConnection, wallet: str) -> bool:
    row = await conn.execute(select(users.c.display_name).where(users.c.wallet == wallet))
    first = row.first()
    return first is not None and first.display_name is not None


async def insert_many_if_absent(conn: AsyncConnection, rows: list[dict[str, object]]) -> set[str]:
    """Bulk form of :func:`insert_if_absent`; the wallets actually inserted."""
    if not rows:
        return set()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(users).values(rows).on_conflict_do_nothing().returning(users.c.wallet)
    return {str(r.wallet) for r in await conn.execute(stmt)}


async def existing(conn: AsyncConnection, wallets: list[str]) -> dict[str, bool]:
    """wallet → profile_exists, for the wallets that have an account."""
    if not wallets:
        return {}
    rows = await conn.execute(select(users.c.wallet, users.c.display_name).where(users.c.wallet.in_(wallets)))
    return {str(r.wallet): r.display_name is not None for r in rows}
