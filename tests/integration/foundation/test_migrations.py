"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from atlas.db import metadata
from atlas.tables import import_all_tables


async def test_migrated_schema_matches_table_definitions(database_url: str) -> None:
    import_all_tables()
    engine = create_async_engine(database_url)

    def diff(sync_conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return [d for d in compare_metadata(ctx, metadata) if not _ignorable(d)]

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []


def _ignorable(d: Any) -> bool:
    # Alembic's own bookkeeping table is not part of the declared schema.
    return isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version"
