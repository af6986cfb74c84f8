"""Fixtures for the ledger integration tests: the running app's writer and a helper to fill it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from atlas.ledger import LedgerWriter, NewEntry


def new_entries(n: int, *, prefix: str | None = None, actor: str = "0x" + "ab" * 20) -> list[NewEntry]:
    tag = prefix or uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    return [NewEntry(f"{tag}-{i}", "CONTENT_ACTION", actor, {"i": i, "tag": tag}, now) for i in range(n)]


async def landed_entry(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    """``GET /v1/genesis/events/{event_id}`` until the entry is there (202 meanwhile, nothing else)."""
    for _ in range(100):
        got = await client.get(f"/v1/genesis/events/{event_id}")
        if got.status_code == 200:
            entry: dict[str, Any] = got.json()
            return entry
        assert got.status_code == 202, got.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"event {event_id} did not reach the ledger")


@pytest.fixture
def writer(app: Any) -> LedgerWriter:
    w: LedgerWriter = app.state.runtime.services["ledger"]
    return w
