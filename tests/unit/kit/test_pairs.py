"""Pair matching: exact (never the cross product), chunked past the per-statement limit, and
planned by SQLite as index searches rather than a table scan (the row-value IN it replaces scanned)."""

from __future__ import annotations

import os

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from atlas.kit.pairs import CHUNK, PairMatch

meta = MetaData()
rows = Table(
    "rows",
    meta,
    Column("id", Integer, primary_key=True),
    Column("a", String, nullable=False),
    Column("b", String, nullable=False),
    Column("hit", Integer, nullable=False, default=0),
    UniqueConstraint("a", "b"),
)
FIND = PairMatch(rows.c.a, rows.c.b, select(rows.c.a, rows.c.b).where)
MARK = PairMatch(rows.c.a, rows.c.b, lambda match: update(rows).where(match).values(hit=1))


def _engine() -> Engine:
    engine = create_engine("sqlite://")
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(rows.insert(), [{"a": f"a{i % 50}", "b": f"b{i}"} for i in range(1000)])
    return engine


def test_matches_exact_pairs_across_chunks() -> None:
    engine = _engine()
    wanted = [(f"a{i % 50}", f"b{i}") for i in range(0, 1000, 2)]  # 500 pairs: three chunks
    crossed = [("a0", "b1"), ("a1", "b0")]  # both columns exist, the pairs do not
    assert len(wanted) > 2 * CHUNK
    with engine.connect() as conn:
        found = [tuple(r) for stmt, p in FIND.chunks(wanted + crossed, dialect="sqlite") for r in conn.execute(stmt, p)]
    assert sorted(found) == sorted(wanted)


def test_update_touches_only_the_pairs() -> None:
    engine = _engine()
    with engine.begin() as conn:
        for stmt, p in MARK.chunks([("a0", "b0"), ("a1", "b1"), ("a0", "b1")], dialect="sqlite"):
            conn.execute(stmt, p)
        marked = conn.execute(select(rows.c.a, rows.c.b).where(rows.c.hit == 1)).all()
    assert sorted(tuple(r) for r in marked) == [("a0", "b0"), ("a1", "b1")]


def test_sqlite_searches_the_index() -> None:
    engine = _engine()
    stmt, params = next(FIND.chunks([("a1", "b1"), ("a2", "b2")], dialect="sqlite"))
    sql = str(stmt.params(params).compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SEARCH rows USING" in plan, plan
    assert "SCAN rows" not in plan, plan


async def test_postgresql_takes_the_pairs_as_arrays_exactly() -> None:
    """One statement for any count (its text never changes), still exact, on the real server."""
    url = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE TEMPORARY TABLE rows (id serial PRIMARY KEY, a varchar NOT NULL, b varchar NOT NULL,"
                " hit integer NOT NULL DEFAULT 0, UNIQUE (a, b)) ON COMMIT DROP"
            )
            await conn.execute(rows.insert(), [{"a": f"a{i % 50}", "b": f"b{i}", "hit": 0} for i in range(1000)])
            wanted = [(f"a{i % 50}", f"b{i}") for i in range(0, 1000, 2)]
            statements = list(FIND.chunks([*wanted, ("a0", "b1"), ("a1", "b0")], dialect="postgresql"))
            assert len(statements) == 1
            found = [tuple(r) for stmt, p in statements for r in await conn.execute(stmt, p)]
            assert sorted(found) == sorted(wanted)
            for stmt, p in MARK.chunks([("a0", "b0"), ("a1", "b1"), ("a0", "b1")], dialect="postgresql"):
                await conn.execute(stmt, p)
            marked = (await conn.execute(select(rows.c.a, rows.c.b).where(rows.c.hit == 1))).all()
            assert sorted(tuple(r) for r in marked) == [("a0", "b0"), ("a1", "b1")]
    finally:
        await engine.dispose()
