"""SQL for the trust projection tables (coherence, referral graph, points), shared by the live
projection, the read endpoints and ``atlas replay``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence.engine import TrustState, state_from_rows
from atlas.coherence.tables import coherence_devices, coherence_links, coherence_scores
from atlas.points.tables import points_awards, points_balances
from atlas.referrals.tables import referral_edges

TABLES: dict[str, Table] = {
    "coherence_scores": coherence_scores,
    "coherence_links": coherence_links,
    "coherence_devices": coherence_devices,
    "referral_edges": referral_edges,
    "points_awards": points_awards,
    "points_balances": points_balances,
}

# SQLite caps bound parameters per statement; chunk IN lists well below it.
_CHUNK = 400


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _CHUNK):
        yield list(values[i : i + _CHUNK])


async def _rows(conn: AsyncConnection, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def load_state(conn: AsyncConnection, wallets: set[str]) -> TrustState:
    """Everything the engine needs to apply entries touching ``wallets``."""
    accounts: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    balances: list[dict[str, Any]] = []
    for part in _chunks(sorted(wallets)):
        accounts += await _rows(conn, select(coherence_scores).where(coherence_scores.c.wallet.in_(part)))
        links += await _rows(
            conn,
            select(coherence_links).where(
                or_(coherence_links.c.wallet.in_(part), coherence_links.c.peer.in_(part))
            ),
        )
        devices += await _rows(conn, select(coherence_devices).where(coherence_devices.c.wallet.in_(part)))
        edges += await _rows(
            conn,
            select(referral_edges).where(
                or_(referral_edges.c.invitee.in_(part), referral_edges.c.referrer.in_(part))
            ),
        )
        balances += await _rows(conn, select(points_balances).where(points_balances.c.wallet.in_(part)))
    # A link can match two chunks (wallet in one, peer in another); keep one copy.
    unique_links = {(r["wallet"], r["peer"]): r for r in links}
    unique_edges = {r["invitee"]: r for r in edges}
    return state_from_rows(
        accounts=accounts,
        links=unique_links.values(),
        devices=devices,
        edges=unique_edges.values(),
        balances=balances,
    )


async def upsert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    stmt: Any
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table)
        stmt = pg.on_conflict_do_update(
            index_elements=keys, set_={c: pg.excluded[c] for c in rows[0] if c not in keys}
        )
    else:
        lite = sqlite.insert(table)
        stmt = lite.on_conflict_do_update(
            index_elements=keys, set_={c: lite.excluded[c] for c in rows[0] if c not in keys}
        )
    await conn.execute(stmt, rows)


async def save(conn: AsyncConnection, rows: dict[str, list[dict[str, Any]]]) -> None:
    for name, table_rows in rows.items():
        await upsert(conn, TABLES[name], table_rows)


async def all_table_rows(conn: AsyncConnection) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every projection row, keyed like :func:`atlas.coherence.engine.all_rows`."""
    out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for name, table in TABLES.items():
        keys = [c.name for c in table.primary_key.columns]
        rows = await _rows(conn, select(table))
        out[name] = {tuple(r[k] for k in keys): r for r in rows}
    return out


async def get_score(conn: AsyncConnection, wallet: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(coherence_scores).where(coherence_scores.c.wallet == wallet))).mappings().first()
    return dict(row) if row else None


async def load_wallet_state(conn: AsyncConnection, wallet: str) -> TrustState:
    """The facts about one wallet (for explain)."""
    return await load_state(conn, {wallet})


async def get_row(conn: AsyncConnection, table: Table, key: dict[str, Any]) -> dict[str, Any] | None:
    cond = and_(*(table.c[k] == v for k, v in key.items()))
    row = (await conn.execute(select(table).where(cond))).mappings().first()
    return dict(row) if row else None
