"""SQL for profiles (the social side of the ``users`` row) and avatar blobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.db import Database
from atlas.users.profile_tables import avatar_blobs
from atlas.users.tables import users


async def get_user(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(users).where(users.c.wallet == wallet))).mappings().first()
    return dict(row) if row else None


# The hot read path: the user row with its derived figures in one statement. Plain SQL so the
# public GET can run it through ``Database.lookup`` (no statement building per request); the same
# text serves reads inside a transaction (``/me`` after an edit).
_PUBLIC_PROFILE_SQL = (
    "SELECT u.wallet, u.display_name, u.bio, u.avatar_sha256, u.created_at, u.referral_code,"
    " p.balance, c.score, c.trust_level,"
    " (SELECT count(*) FROM referral_edges r WHERE r.referrer = u.wallet) AS referral_count"
    " FROM users u"
    " LEFT OUTER JOIN points_balances p ON p.wallet = u.wallet"
    " LEFT OUTER JOIN coherence_scores c ON c.wallet = u.wallet"
    " WHERE u.wallet = :wallet"
)
_PUBLIC_PROFILE = text(_PUBLIC_PROFILE_SQL).columns(created_at=DateTime(timezone=True))


async def get_public_profile(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    """The profile row as seen by ``conn``'s transaction."""
    row = (await conn.execute(_PUBLIC_PROFILE, {"wallet": wallet})).mappings().first()
    return dict(row) if row else None


async def lookup_public_profile(db: Database, wallet: str) -> dict[str, Any] | None:
    """The profile row, committed state, by the cheapest path the backend has."""
    return await db.lookup(_PUBLIC_PROFILE_SQL, {"wallet": wallet}, datetimes=("created_at",))


async def update_profile(conn: AsyncConnection, wallet: str, values: dict[str, Any]) -> None:
    await conn.execute(update(users).where(users.c.wallet == wallet).values(**values))


async def avatar_sha(conn: AsyncConnection, wallet: str) -> tuple[bool, str | None]:
    row = (await conn.execute(select(users.c.avatar_sha256).where(users.c.wallet == wallet))).first()
    return (row is not None, row.avatar_sha256 if row else None)


async def put_blob(conn: AsyncConnection, *, sha256: str, media_type: str, data: bytes, at: datetime) -> None:
    values = {"sha256": sha256, "media_type": media_type, "size": len(data), "data": data, "created_at": at}
    if conn.dialect.name == "postgresql":
        await conn.execute(postgresql.insert(avatar_blobs).values(**values).on_conflict_do_nothing())
    else:
        await conn.execute(sqlite.insert(avatar_blobs).values(**values).on_conflict_do_nothing())


async def get_blob(conn: AsyncConnection, sha256: str) -> tuple[str, bytes] | None:
    row = (
        await conn.execute(select(avatar_blobs.c.media_type, avatar_blobs.c.data).where(avatar_blobs.c.sha256 == sha256))
    ).first()
    return (str(row.media_type), bytes(row.data)) if row else None


async def user_exists(conn: AsyncConnection, wallet: str) -> bool:
    return (await conn.execute(select(users.c.wallet).where(users.c.wallet == wallet))).first() is not None
