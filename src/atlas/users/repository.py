"""SQL for the ``users`` table (registration side)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
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


# Built once per dialect and executed with a list of rows: SQLAlchemy's "insertmanyvalues" renders
# them as multi-row INSERTs itself, from one cached compilation, instead of a new ``.values(rows)``
# statement (rows x columns bind parameters, a cache key and a compilation per batch size).
_INSERT_MANY_IF_ABSENT = {
    "postgresql": postgresql.insert(users).on_conflict_do_nothing().returning(users.c.wallet),
    "sqlite": sqlite.insert(users).on_conflict_do_nothing().returning(users.c.wallet),
}
_EXISTING = select(users.c.wallet, users.c.display_name).where(users.c.wallet.in_(bindparam("wallets", expanding=True)))


async def insert_many_if_absent(conn: AsyncConnection, rows: list[dict[str, object]]) -> set[str]:
    """Bulk form of :func:`insert_if_absent`; the wallets actually inserted."""
    if not rows:
        return set()
    stmt = _INSERT_MANY_IF_ABSENT["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    return {str(r.wallet) for r in await conn.execute(stmt, rows)}


async def existing(conn: AsyncConnection, wallets: list[str]) -> dict[str, bool]:
    """wallet → profile_exists, for the wallets that have an account."""
    if not wallets:
        return {}
    rows = await conn.execute(_EXISTING, {"wallets": wallets})
    return {str(r.wallet): r.display_name is not None for r in rows}
