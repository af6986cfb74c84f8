"""A connection's live delivery: duplicates dropped, gaps repaired from storage, order kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from atlas.chat import gateway
from atlas.chat.gateway import Connection
from atlas.chat.hub import message_event

DEVICE = "d0000000-0000-4000-8000-000000000001"
OTHER = "d0000000-0000-4000-8000-000000000002"


class FakeWs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))


class FakeDb:
    @asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        yield None


def _event(seq: int, *, to: str = DEVICE) -> dict[str, Any]:
    env = {"client_msg_id": f"m{seq}", "sender_device": "s", "payloads": [{"device_id": to, "kind": "message", "body": "QQ=="}]}
    return message_event(conversation_id="c", seq=seq, server_ts="t", sender="bob", peer="alice", envelope=env)


def _row(seq: int) -> Any:
    return SimpleNamespace(
        conversation_id="c", seq=seq, kind="message", body=b"A", client_msg_id=f"m{seq}", sender="bob",
        sender_device="s", server_ts_ms=0,
    )


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> tuple[Connection, FakeWs, list[tuple[int, int]]]:
    stored = {s: _row(s) for s in range(1, 20)}
    queries: list[tuple[int, int]] = []

    async def device_range(_conn: Any, device_id: str, cid: str, *, after: int, up_to: int) -> list[Any]:
        queries.append((after, up_to))
        return [stored[s] for s in range(after + 1, up_to + 1) if s in stored and s != 4]  # seq 4: not for this device

    monkeypatch.setattr(gateway.repo, "device_range", device_range)
    ws = FakeWs()
    runtime: Any = SimpleNamespace(db=FakeDb())
    conn = Connection(ws, runtime, wallet="alice", device_id=DEVICE, queue_size=8)  # type: ignore[arg-type]
    return conn, ws, queries


async def test_in_order_events_need_no_storage(connection: Any) -> None:
    conn, ws, queries = connection
    for seq in (1, 2, 3):
        await conn._deliver_live(_event(seq))
    assert [f["seq"] for f in ws.sent] == [1, 2, 3]
    assert queries == []


async def test_duplicates_are_dropped_and_gaps_repaired(connection: Any) -> None:
    conn, ws, queries = connection
    conn.delivered["c"] = 2
    await conn._deliver_live(_event(2))  # duplicate of the backlog
    await conn._deliver_live(_event(6))  # 3, 5 missing (4 is not for this device)
    await conn._deliver_live(_event(3))  # late duplicate of the repair
    await conn._deliver_live(_event(5))
    assert [f["seq"] for f in ws.sent] == [3, 5, 6]
    assert queries == [(2, 5)]
    assert all(len(f["envelope"]["payloads"]) == 1 for f in ws.sent)


async def test_events_for_other_devices_are_skipped_without_a_query(connection: Any) -> None:
    conn, ws, queries = connection
    await conn._deliver_live(_event(1))
    await conn._deliver_live(_event(2, to=OTHER))  # e.g. this device's own send
    await conn._deliver_live(_event(3))
    assert [f["seq"] for f in ws.sent] == [1, 3]
    assert queries == []


async def test_a_full_queue_disconnects_the_slow_client(connection: Any) -> None:
    conn, _, _ = connection
    closed: list[int] = []

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    conn._close = close
    for seq in range(1, 12):
        conn.offer(_event(seq))
    await asyncio.sleep(0)
    assert conn.closed
    assert closed == [gateway.CLOSE_SLOW]
