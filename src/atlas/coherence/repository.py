"""SQL for the trust projection tables (coherence, referral graph, points), shared by the live
projection, the read endpoints and ``atlas replay``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    and_,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
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

# SQLite caps bound parameters per statement (32,766); the state query repeats the IN list 7 times.
_CHUNK = 400


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _CHUNK):
        yield list(values[i : i + _CHUNK])


async def _rows(conn: AsyncConnection, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


def _state_query() -> Any:
    """Every row a batch's wallets need, from the five tables, in ONE statement (UNION ALL).

    Each branch maps its table onto the same columns: ``kind``, five text and four integer slots
    (NULL where unused). One statement instead of five per projection batch: on SQLite every
    statement is several round trips to the driver's thread, which dominated the batch's cost.
    """
    w: Any = bindparam("wallets", expanding=True)

    def row(kind: int, texts: Sequence[Any], ints: Sequence[Any]) -> list[Any]:
        text_cols = [*texts, *[cast(null(), String)] * (5 - len(texts))]
        int_cols = [*ints, *[cast(null(), BigInteger)] * (4 - len(ints))]
        return [
            literal_column(str(kind)).label("kind"),
            *(t.label(f"t{i}") for i, t in enumerate(text_cols)),
            *(n.label(f"n{i}") for i, n in enumerate(int_cols)),
        ]

    s, lk, d, e, b = coherence_scores.c, coherence_links.c, coherence_devices.c, referral_edges.c, points_balances.c
    return union_all(
        select(*row(0, [s.wallet, s.registered_at, s.as_of_at, s.trust_level],
                    [s.registered_seq, s.as_of_seq, s.score, s.formula_version])).where(s.wallet.in_(w)),
        select(*row(1, [lk.wallet, lk.peer], [lk.sent_seq, lk.accepted_seq, lk.blocked_seq])).where(
            or_(lk.wallet.in_(w), lk.peer.in_(w))
        ),
        select(*row(2, [d.wallet, d.device_id], [d.registered_seq, d.revoked_seq])).where(d.wallet.in_(w)),
        select(*row(3, [e.invitee, e.referrer, e.code, e.accepted_at, e.activated_at],
                    [e.accepted_seq, e.activated_seq])).where(or_(e.invitee.in_(w), e.referrer.in_(w))),
        select(*row(4, [b.wallet], [b.balance, b.award_count, b.last_seq])).where(b.wallet.in_(w)),
    )


_STATE = _state_query()


async def load_state(conn: AsyncConnection, wallets: set[str]) -> TrustState:
    """Everything the engine needs to apply entries touching ``wallets``."""
    accounts: list[dict[str, Any]] = []
    links: dict[tuple[str, str], dict[str, Any]] = {}  # a link can match two chunks: keep one copy
    devices: list[dict[str, Any]] = []
    edges: dict[str, dict[str, Any]] = {}
    balances: list[dict[str, Any]] = []
    for part in _chunks(sorted(wallets)):
        for kind, t0, t1, t2, t3, t4, n0, n1, n2, n3 in (await conn.execute(_STATE, {"wallets": part})).all():
            if kind == 0:
                accounts.append({"wallet": t0, "registered_at": t1, "as_of_at": t2, "trust_level": t3,
                                 "registered_seq": n0, "as_of_seq": n1, "score": n2, "formula_version": n3})
            elif kind == 1:
                links[(t0, t1)] = {"wallet": t0, "peer": t1, "sent_seq": n0, "accepted_seq": n1, "blocked_seq": n2}
            elif kind == 2:
                devices.append({"wallet": t0, "device_id": t1, "registered_seq": n0, "revoked_seq": n1})
            elif kind == 3:
                edges[t0] = {"invitee": t0, "referrer": t1, "code": t2, "accepted_at": t3, "activated_at": t4,
                             "accepted_seq": n0, "activated_seq": n1}
            else:
                balances.append({"wallet": t0, "balance": n0, "award_count": n1, "last_seq": n2})
    return state_from_rows(
        accounts=accounts, links=links.values(), devices=devices, edges=edges.values(), balances=balances
    )


@cache
def _upsert(dialect: str, table: Table, columns: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (primary key) DO UPDATE of the other ``columns``, built once per shape."""
    keys = [c.name for c in table.primary_key.columns]
    ins: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return ins.on_conflict_do_update(index_elements=keys, set_={c: ins.excluded[c] for c in columns if c not in keys})


async def upsert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    await conn.execute(_upsert(dialect, table, tuple(rows[0])), rows)


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
