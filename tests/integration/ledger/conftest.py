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
