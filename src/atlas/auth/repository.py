"""SQL for nonces, sessions and refresh tokens. Every state change is a single conditional UPDATE,
so that concurrent requests cannot both win (a nonce spent twice, a refresh token rotated twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth.tables import auth_nonces, auth_refresh_tokens, auth_sessions


@dataclass(frozen=True)
class NonceRecord:
    nonce: str
    address: str
    chain: str
    issued_at: datetime
    expires_at: datetime
    spent_at: datetime | None


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


async def insert_nonce(
    conn: AsyncConnection, *, nonce: str, address: str, chain: str, issued_at: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(auth_nonces).values(
            nonce=nonce, address=address, chain=chain, issued_at=issued_at, expires_at=expires_at
        )
    )


async def sweep_nonces(conn: AsyncConnection, *, before: datetime) -> None:
    await conn.execute(delete(auth_nonces).where(auth_nonces.c.expires_at < before))


async def spend_nonce(conn: AsyncConnection, *, nonce: str, address: str, now: datetime) -> bool:
    """Atomically mark an unspent, unexpired nonce issued for ``address`` as spent."""
    result = await conn.execute(
        update(auth_nonces)
        .where(
            auth_nonces.c.nonce == nonce,
            auth_nonces.c.address == address,
            auth_nonces.c.spent_at.is_(None),
            auth_nonces.c.expires_at > now,
        )
        .values(spent_at=now)
    )
    return result.rowcount == 1


async def get_nonce(conn: AsyncConnection, nonce: str) -> NonceRecord | None:
    row = (await conn.execute(select(auth_nonces).where(auth_nonces.c.nonce == nonce))).first()
    if row is None:
        return None
    return NonceRecord(
        nonce=row.nonce,
        address=row.address,
        chain=row.chain,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        spent_at=row.spent_at,
    )


# -- sessions --------------------------------------------------------------------------------------


def _session(row: object) -> SessionRow:
    return SessionRow(
        id=row.id,  # type: ignore[attr-defined]  # SQLAlchemy Row attributes are dynamic
        wallet=row.wallet,  # type: ignore[attr-defined]
        chain=row.chain,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_used_at=row.last_used_at,  # type: ignore[attr-defined]
        expires_at=row.expires_at,  # type: ignore[attr-defined]
        revoked_at=row.revoked_at,  # type: ignore[attr-defined]
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


async def insert_session(
    conn: AsyncConnection,
    *,
    session_id: str,
    wallet: str,
    chain: str,
    now: datetime,
    expires_at: datetime,
    user_agent: str | None,
) -> None:
    await conn.execute(
        insert(auth_sessions).values(
            id=session_id,
            wallet=wallet,
            chain=chain,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
        )
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
