"""A PostgreSQL connection that died while it rested in the pool is replaced before anyone uses it
(the cheap stand-in for ``pool_pre_ping``), and a database that fails mid-request is a 503, not a 500."""

from __future__ import annotations

import asyncio
import json
import os

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.requests import Request
from starlette.responses import Response

from atlas import db as db_module
from atlas.db import Database
from atlas.errors import install_error_handlers

PG_ADMIN_DSN = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def test_connection_killed_while_idle_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "_PING_AFTER_IDLE", 0.05)
    database = Database(PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with database.read() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)  # rested longer than _PING_AFTER_IDLE: the checkout pings it
        async with database.read() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await database.dispose()


async def _render(exc: Exception) -> tuple[int, dict[str, object], dict[str, str]]:
    app = FastAPI()
    install_error_handlers(app)
    handler = app.exception_handlers[DBAPIError]
    response = handler(Request({"type": "http", "method": "GET", "path": "/", "headers": []}), exc)
    if not isinstance(response, Response):
        response = await response
    return response.status_code, json.loads(bytes(response.body)), dict(response.headers)


async def test_unreachable_database_is_a_503_with_retry_after() -> None:
    status, body, headers = await _render(OperationalError("SELECT 1", {}, ConnectionError("gone")))
    assert status == 503
    assert body["code"] == "database_unavailable"
    assert headers["retry-after"] == "1"
    assert "SELECT" not in json.dumps(body)


async def test_other_driver_errors_stay_internal_errors() -> None:
    status, body, _ = await _render(IntegrityError("INSERT", {}, ValueError("duplicate")))
    assert status == 500
    assert body["code"] == "internal_error"
