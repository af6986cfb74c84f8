"""Fixtures for the ledger integration tests: the running app's writer and a helper to fill it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from atlas.ledger import LedgerWriter, NewEntry


def new_entries(n: int, *, prefix: str | None = None, actor: str = "0x" + "ab" * 20) -> list[NewEntry]:
    tag = prefix or uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    return [NewEntry(f"{tag}-{i}", "CONTENT_ACTION", actor, {"i": i, "tag": tag}, now) for i in range(n)]


@pytest.fixture
def writer(app: Any) -> LedgerWriter:
    w: LedgerWriter = app.state.runtime.services["ledger"]
    return w


@pytest.fixture
async def second_database_url(template_database: str, tmp_path: Any) -> Any:
    """Another empty migrated database (a restore target), on the same backend as ``database_url``."""
    import os
    import shutil

    if os.environ.get("ATLAS_TEST_BACKEND", "embedded") == "real":
        import asyncpg

        admin = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
        name = f"atlas_ledger_restore_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        finally:
            await conn.close()
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    else:
        path = tmp_path / "restore.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"
