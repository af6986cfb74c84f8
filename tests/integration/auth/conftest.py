"""Fixtures for the auth tests (helpers live in auth_helpers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from auth_helpers import Flow
from eth_account import Account

from atlas.events.repository import outbox_depth


@pytest.fixture(autouse=True)
async def _events_settle_before_teardown(app: Any) -> AsyncIterator[None]:
    """Let the outbox drain into the ledger before the app stops.

    Works around ledger/component.py's checkpointer loop, which uses ``asyncio.wait_for`` and on
    Python 3.11 can swallow the cancellation of ``stop()`` when a ledger append wakes it at that very
    moment (reported to the lead); sign-in bursts made that race likely at teardown.
    """
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        async with app.state.runtime.db.read() as conn:
            if await outbox_depth(conn) == (0, 0):
                break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # the ledger's last wake-up is consumed


@pytest.fixture
def flow(client: httpx.AsyncClient, app: Any) -> Flow:
    return Flow(client, app)


@pytest.fixture
def account() -> Any:
    return Account.create()
