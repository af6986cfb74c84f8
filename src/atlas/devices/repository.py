"""SQL of the device registry (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.devices.tables import device_prekeys, devices


async def active_device_ids(conn: AsyncConnection, wallet: str) -> list[str]:
    """Lowercase UUID strings of the wallet's active (not revoked) devices, oldest first."""
    w = wallet.lower() if wallet.startswith("0x") else wallet
    rows = await conn.execute(
        select(devices.c.device_id)
        .where(devices.c.wallet == w, devices.c.revoked_at.is_(None))
        .order_by(devices.c.created_at, devices.c.device_id)
    )
    return [r[0] for r in rows]


_ACTIVE_MANY = (
    select(devices.c.wallet, devices.c.device_id)
    .where(devices.c.wallet.in_(bindparam("wallets", expanding=True)), devices.c.revoked_at.is_(None))
    .order_by(devices.c.created_at, devices.c.device_id)
)


async def active_device_ids_many(conn: AsyncConnection, wallets: Sequence[str]) -> dict[str, list[str]]:
    """:func:`active_device_ids` of several wallets in one query (the chat writer refreshes the
    device sets of a whole batch at once); keys are the wallets as given, each present."""
    by_key: dict[str, list[str]] = {}
    for wallet in wallets:
        by_key.setdefault(wallet.lower() if wallet.startswith("0x") else wallet, [])
    out: dict[str, list[str]] = {wallet: [] for wallet in wallets}
    for row in await conn.execute(_ACTIVE_MANY, {"wallets": sorted(by_key)}):
        by_key[row[0]].append(row[1])
    for wallet in wallets:
        out[wallet] = by_key[wallet.lower() if wallet.startswith("0x") else wallet]
    return out


async def lock_wallet(conn: AsyncConnection, wallet: str) -> None:
    """Serialise device registration per wallet (the 10-device limit). SQLite writers are already
    serialised by BEGIN IMMEDIATE; PostgreSQL takes a transaction-scoped advisory lock."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"devices:{wallet}"})


async def get_device(conn: AsyncConnection, device_id: str) -> Row[Any] | None:
    return (await conn.execute(select(devices).where(devices.c.device_id == device_id))).first()


async def count_active(conn: AsyncConnection, wallet: str) -> int:
    stmt = select(func.count()).where(devices.c.wallet == wallet, devices.c.revoked_at.is_(None))
    return int((await conn.execute(stmt)).scalar_one())


async def insert_device(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(devices).values(**values))


async def update_device(conn: AsyncConnection, device_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(devices).where(devices.c.device_id == device_id).values(**values))


async def revoke(conn: AsyncConnection, device_id: str, at: datetime) -> None:
    await conn.execute(
        update(devices)
        .where(devices.c.device_id == device_id, devices.c.revoked_at.is_(None))
        .values(revoked_at=at, updated_at=at)
    )
    # Unused one-time prekeys of a revoked device are useless; drop them.
    await conn.execute(
        delete(device_prekeys).where(
            device_prekeys.c.device_id == device_id, device_prekeys.c.used_at.is_(None)
        )
    )


async def list_active(conn: AsyncConnection, wallet: str) -> list[tuple[Row[Any], int]]:
    """Active devices with their count of unused one-time prekeys."""
    unused = (
        select(device_prekeys.c.device_id, func.count().label("n"))
        .where(device_prekeys.c.used_at.is_(None))
        .group_by(device_prekeys.c.device_id)
        .subquery()
    )
    stmt = (
        select(devices, func.coalesce(unused.c.n, 0).label("remaining"))
        .select_from(devices.outerjoin(unused, unused.c.device_id == devices.c.device_id))
        .where(devices.c.wallet == wallet, devices.c.revoked_at.is_(None))
        .order_by(devices.c.created_at, devices.c.device_id)
    )
    return [(row, int(row.remaining)) for row in await conn.execute(stmt)]


async def count_unused(conn: AsyncConnection, device_id: str) -> int:
    stmt = select(func.count()).where(
        device_prekeys.c.device_id == device_id, device_prekeys.c.used_at.is_(None)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def existing_prekeys(conn: AsyncConnection, device_id: str, key_ids: Sequence[int]) -> dict[int, bytes]:
    if not key_ids:
        return {}
    rows = await conn.execute(
        select(device_prekeys.c.key_id, device_prekeys.c.public_key).where(
            device_prekeys.c.device_id == device_id, device_prekeys.c.key_id.in_(list(key_ids))
        )
    )
    return {int(r.key_id): bytes(r.public_key) for r in rows}


async def insert_prekeys(
    conn: AsyncConnection, device_id: str, keys: Sequence[tuple[int, bytes]], at: datetime
) -> None:
    if keys:
        await conn.execute(
            insert(device_prekeys),
            [{"device_id": device_id, "key_id": k, "public_key": p, "created_at": at} for k, p in keys],
        )


async def delete_prekeys(conn: AsyncConnection, device_id: str) -> None:
    await conn.execute(delete(device_prekeys).where(device_prekeys.c.device_id == device_id))


async def claim_prekey(conn: AsyncConnection, device_id: str, at: datetime) -> tuple[int, bytes] | None:
    """Mark one unused one-time prekey as used and return it — atomically: concurrent claims never
    get the same key (PostgreSQL: FOR UPDATE SKIP LOCKED plus the ``used_at IS NULL`` recheck;
    SQLite: writers are serialised)."""
    pick = (
        select(device_prekeys.c.key_id)
        .where(device_prekeys.c.device_id == device_id, device_prekeys.c.used_at.is_(None))
        .order_by(device_prekeys.c.key_id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(device_prekeys)
        .where(
            and_(
                device_prekeys.c.device_id == device_id,
                device_prekeys.c.key_id == pick,
                device_prekeys.c.used_at.is_(None),
            )
        )
        .values(used_at=at)
        .returning(device_prekeys.c.key_id, device_prekeys.c.public_key)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (int(row.key_id), bytes(row.public_key))
