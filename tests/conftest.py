"""Shared fixtures: one isolated database per test, on the embedded or the real backend.

``ATLAS_TEST_BACKEND=embedded`` (default): a SQLite file per test, copied from a template migrated
once, and the in-process bus. ``ATLAS_TEST_BACKEND=real``: one PostgreSQL database per run, migrated
once and emptied before and after every test, and Redis with a key namespace per test. An
unreachable server fails the run; it is never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.app import create_app
from atlas.config import Settings
from atlas.migrate import upgrade_database

BACKEND = os.environ.get("ATLAS_TEST_BACKEND", "embedded")
PG_ADMIN_DSN = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ATLAS_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:8]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest_report_header(config: pytest.Config) -> str:
    return f"atlas backend: {BACKEND} ({'PostgreSQL + Redis' if BACKEND == 'real' else 'SQLite + in-process bus'})"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The real backend means real servers: an unreachable one fails the run, locally as under CI."""
    if BACKEND != "real":
        return
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not _reachable("127.0.0.1", port)]
    if missing:
        hint = "" if IN_CI else " (start them, or run ATLAS_TEST_BACKEND=embedded)"
        pytest.exit(f"real backend requested but unreachable: {', '.join(missing)}{hint}", returncode=3)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


class _PgTestDatabase:
    """One migrated PostgreSQL database per run, emptied after each test.

    CREATE/DROP DATABASE cost this machine's PostgreSQL a checkpoint each (0.1–1.3 s, measured),
    which dominated the suite; deleting every row with triggers disabled takes a few milliseconds.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = _pg_url(name)
        # Rows the migrations seed (e.g. the ledger's head row), restored after each emptying.
        self.seed: dict[str, tuple[list[str], list[Any]]] = {}
        self.pristine = ""  # the migrated, never-used database that extra databases are cloned from
        self.tables: set[str] = set()  # what the migrations created; anything else a test made is dropped

    async def _connect(self) -> Any:
        import asyncpg

        return await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{self.name}")

    async def snapshot_seed(self) -> None:
        conn = await self._connect()
        try:
            for (table,) in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ):
                self.tables.add(table)
                rows = await conn.fetch(f'SELECT * FROM "{table}"')  # noqa: S608 - names come from pg_tables
                if rows:
                    self.seed[table] = (list(rows[0].keys()), [tuple(r) for r in rows])
        finally:
            await conn.close()

    async def reset(self) -> None:
        conn = await self._connect()
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            tables = [
                r[0]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            sequences = [r[0] for r in await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
            for table in [t for t in tables if t not in self.tables]:
                await conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            tables = [t for t in tables if t in self.tables]
            async with conn.transaction():
                # replica role skips triggers (the ledger's append-only guard) and FK checks.
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    await conn.execute(f'DELETE FROM "{table}"')  # noqa: S608 - names come from pg_tables
                for seq in sequences:
                    await conn.execute(f"SELECT setval('\"{seq}\"', 1, false)")
                for table, (columns, rows) in self.seed.items():
                    await conn.copy_records_to_table(table, records=rows, columns=columns)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A migrated database: copied per test on SQLite, reused and emptied per test on PostgreSQL."""
    if BACKEND == "real":
        pristine, name = f"atlas_tpl_{RUN_ID}", f"atlas_t_{RUN_ID}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pristine}"'))
        # Tests need no durability against a PostgreSQL crash; this keeps commits off the disk's fsync.
        asyncio.run(_pg_admin(f'ALTER DATABASE "{pristine}" SET synchronous_commit = off'))
        upgrade_database(_pg_url(pristine))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pristine}"'))
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        database = _PgTestDatabase(name)
        database.pristine = pristine
        asyncio.run(database.snapshot_seed())
        yield database
        for db in (name, pristine):
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("tpl") / "template.db"
        upgrade_database(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
async def database_url(template_database: Any, tmp_path: Path) -> AsyncIterator[str]:
    if BACKEND == "real":
        # Emptied before (a clean start even if a previous test left a writer behind) and after.
        await template_database.reset()
        yield template_database.url
        await template_database.reset()
    else:
        path = tmp_path / "atlas.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def second_database_url(template_database: Any, tmp_path: Path) -> AsyncIterator[str]:
    """Another empty migrated database on the same backend (a restore target, a second deployment)."""
    if BACKEND == "real":
        name = f"atlas_x_{RUN_ID}_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database.pristine}"')
        yield _pg_url(name)
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / "second.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def redis_url() -> str | None:
    return REDIS_URL if BACKEND == "real" else None


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str, redis_url: str | None) -> Any:
    """Build settings for this test's database; keyword arguments override fields."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "dev",
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_namespace": f"atlas-test-{uuid.uuid4().hex[:12]}",
            "public_url": "http://127.0.0.1:8000",
            "rate_auth": "10000/minute",
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    settings: Settings = make_settings()
    return settings


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def _client_of(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            yield http


@pytest.fixture
def client_of() -> Callable[[Settings], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with client_of(settings) as http``: a client of one more app instance, built with
    these settings (other limits, or a second server on the same database)."""
    return _client_of


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    # Plain HTTP in-process; WebSocket tests run a real server (see ``live_server``), because the
    # ASGI WebSocket transport cannot be torn down from another task.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


@pytest.fixture
def data_dir(settings: Settings) -> Path:
    return settings.data_dir
