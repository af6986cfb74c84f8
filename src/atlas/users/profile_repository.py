"""SQL for profiles (the social side of the ``users`` row) and avatar blobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence.tables import coherence_scores
from atlas.points.tables import points_balances
from atlas.referrals.tables import referral_edges
from atlas.users.profile_tables import avatar_blobs
from atlas.users.tables import users


async def get_user(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(users).where(users.c.wallet == wallet))).mappings().first()
    return dict(row) if row else None


async def get_public_profile(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    """The user row with its derived figures, in one round trip (the hot read path)."""
    referral_count = (
        select(func.count()).select_from(referral_edges).where(referral_edges.c.referrer == users.c.wallet)
    ).scalar_subquery()
    stmt = (
        select(
            users.c.wallet,
            users.c.display_name,
            users.c.bio,
            users.c.avatar_sha256,
            users.c.created_at,
            users.c.referral_code,
            points_balances.c.balance,
            coherence_scores.c.score,
            coherence_scores.c.trust_level,
            referral_count.label("referral_count"),
        )
        .select_from(
            users.outerjoin(points_balances, points_balances.c.wallet == users.c.wallet).outerjoin(
                coherence_scores, coherence_scores.c.wallet == users.c.wallet
            )
        )
        .where(users.c.wallet == wallet)
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


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
