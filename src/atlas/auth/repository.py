"""SQL for nonces, sessions and refresh tokens. Every state change is a single conditional UPDATE,
so that concurrent requests cannot both win (a nonce spent twice, a refresh token rotated twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth.tables import auth_nonces, auth_refresh_tokens, auth_sessions


@dataclass(frozen=True)
class SessionRow:
    id: str
    wallet: str
    chain: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


# -- nonces (embedded mode) ------------------------------------------------------------------------


async def sweep_nonces(conn: AsyncConnection, *, before: datetime) -> None:
    await conn.execute(delete(auth_nonces).where(auth_nonces.c.expires_at < before))


# -- sessions --------------------------------------------------------------------------------------


def _session(row: Any) -> SessionRow:  # a SQLAlchemy Row: attributes are per query
    return SessionRow(
        id=row.id,
        wallet=row.wallet,
        chain=row.chain,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


_SESSION_COLUMNS = (
    auth_sessions.c.id,
    auth_sessions.c.wallet,
    auth_sessions.c.chain,
    auth_sessions.c.created_at,
    auth_sessions.c.last_used_at,
    auth_sessions.c.expires_at,
    auth_sessions.c.revoked_at,
)


async def get_session(conn: AsyncConnection, session_id: str) -> SessionRow | None:
    row = (await conn.execute(select(*_SESSION_COLUMNS).where(auth_sessions.c.id == session_id))).first()
    return None if row is None else _session(row)


async def list_active_sessions(conn: AsyncConnection, *, wallet: str, now: datetime) -> list[SessionRow]:
    rows = await conn.execute(
        select(*_SESSION_COLUMNS)
        .where(
            auth_sessions.c.wallet == wallet,
            auth_sessions.c.revoked_at.is_(None),
            auth_sessions.c.expires_at > now,
        )
        .order_by(auth_sessions.c.created_at.desc(), auth_sessions.c.id)
    )
    return [_session(r) for r in rows]


async def live_session_ids(conn: AsyncConnection, session_ids: list[str], *, now: datetime) -> set[str]:
    """Which of ``session_ids`` are neither revoked nor expired (one query for many sockets)."""
    if not session_ids:
        return set()
    rows = await conn.execute(
        select(auth_sessions.c.id).where(
            auth_sessions.c.id.in_(session_ids),
            auth_sessions.c.revoked_at.is_(None),
            auth_sessions.c.expires_at > now,
        )
    )
    return {r[0] for r in rows}


async def touch_session(conn: AsyncConnection, *, session_id: str, now: datetime) -> None:
    await conn.execute(update(auth_sessions).where(auth_sessions.c.id == session_id).values(last_used_at=now))


async def revoke_session(
    conn: AsyncConnection, *, session_id: str, now: datetime, reason: str, wallet: str | None = None
) -> bool:
    """Revoke one live session (only the given wallet's, when given); True if it was live."""
    stmt = update(auth_sessions).where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
    if wallet is not None:
        stmt = stmt.where(auth_sessions.c.wallet == wallet)
    result = await conn.execute(stmt.values(revoked_at=now, revoked_reason=reason))
    return result.rowcount == 1


# -- refresh tokens --------------------------------------------------------------------------------


async def insert_refresh_token(
    conn: AsyncConnection, *, token_hash: str, session_id: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(auth_refresh_tokens).values(
            token_hash=token_hash, session_id=session_id, issued_at=now, expires_at=expires_at
        )
    )


async def spend_refresh_token(conn: AsyncConnection, *, token_hash: str, now: datetime) -> str | None:
    """Atomically spend a live refresh token; its session id, or None if it was not live."""
    result = await conn.execute(
        update(auth_refresh_tokens)
        .where(
            auth_refresh_tokens.c.token_hash == token_hash,
            auth_refresh_tokens.c.spent_at.is_(None),
            auth_refresh_tokens.c.expires_at > now,
        )
        .values(spent_at=now)
    )
    if result.rowcount != 1:
        return None
    row = (
        await conn.execute(
            select(auth_refresh_tokens.c.session_id).where(auth_refresh_tokens.c.token_hash == token_hash)
        )
    ).first()
    return None if row is None else str(row.session_id)


async def find_refresh_token(conn: AsyncConnection, token_hash: str) -> tuple[str, datetime | None] | None:
    """(session id, spent_at) of a known token, spent or not."""
    row = (
        await conn.execute(
            select(auth_refresh_tokens.c.session_id, auth_refresh_tokens.c.spent_at).where(
                auth_refresh_tokens.c.token_hash == token_hash
            )
        )
    ).first()
    return None if row is None else (str(row.session_id), row.spent_at)


async def refresh_token_wallet(conn: AsyncConnection, token_hash: str) -> str | None:
    """The wallet a refresh token belongs to (spent or not), for its per-wallet rate limit."""
    row = (
        await conn.execute(
            select(auth_sessions.c.wallet)
            .select_from(auth_refresh_tokens.join(auth_sessions))
            .where(auth_refresh_tokens.c.token_hash == token_hash)
        )
    ).first()
    return None if row is None else str(row.wallet)


# -- bulk forms for group commit -------------------------------------------------------------------
# Built once: a statement object memoizes its cache key, so each execution skips constructing the
# expression (coercions, bind parameters) and re-deriving the key before the compiled-SQL cache hit.

_INSERT_SESSIONS = insert(auth_sessions)
_INSERT_REFRESH_TOKENS = insert(auth_refresh_tokens)
_RECORD_SPENT = {
    name: dialect.insert(auth_nonces).on_conflict_do_nothing(index_elements=["nonce"]).returning(auth_nonces.c.nonce)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


async def record_spent_nonces(conn: AsyncConnection, rows: list[dict[str, object]]) -> set[str]:
    """Insert each spent nonce unless present; the nonces inserted now (one statement per batch)."""
    if not rows:
        return set()
    stmt = _RECORD_SPENT["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    result = await conn.execute(stmt, rows)
    return {str(r.nonce) for r in result}


async def insert_sessions(conn: AsyncConnection, rows: list[dict[str, object]]) -> None:
    if rows:
        await conn.execute(_INSERT_SESSIONS, rows)


async def insert_refresh_tokens(conn: AsyncConnection, rows: list[dict[str, object]]) -> None:
    if rows:
        await conn.execute(_INSERT_REFRESH_TOKENS, rows)
