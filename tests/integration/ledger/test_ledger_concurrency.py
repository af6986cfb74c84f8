"""One chain, always: concurrent appenders, several processes, and a SIGKILL mid-batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from atlas.db import Database
from atlas.kit.clock import SystemClock
from atlas.ledger import LedgerWriter, repository
from atlas.ledger import service as ledger_service
from atlas.ledger.backup import verify_database
from atlas.ledger.checkpoint import LogSigner
from conftest import new_entries

WORKER = Path(__file__).resolve().parent / "ledger_worker.py"
SIGNER = LogSigner("test.local/genesis", bytes(32))


async def _verified(db: Database) -> int:
    async with db.write() as conn:
        await ledger_service.issue_checkpoint(conn, SIGNER, SystemClock().now())
    result = await verify_database(db, SIGNER.verifier_key)
    assert result.ok, result.failure
    async with db.read() as conn:
        size = await repository.tree_size(conn)
        rows = (await conn.execute(text("SELECT count(*), count(DISTINCT event_id), min(seq), max(seq) FROM ledger_entries"))).one()
    assert tuple(rows) == (size, size, 0 if size else None, size - 1 if size else None)
    return size


async def test_many_concurrent_appenders_one_chain(database_url: str) -> None:
    db = Database(database_url)
    writer = LedgerWriter(db)
    try:
        batches = [new_entries(1 + i % 4, prefix=f"c{i}") for i in range(150)]
        dupes = [new_entries(1 + i % 4, prefix=f"c{i}") for i in range(0, 150, 10)]
        results = await asyncio.gather(*(writer.append(b) for b in batches + dupes))
        for items, got in zip(batches + dupes, results, strict=True):
            assert [e.event_id for e in got] == [i.event_id for i in items]
        size = await _verified(db)
        assert size == sum(len(b) for b in batches)
        # a writer that did not see those commits (another process, say) continues the same chain
        other = LedgerWriter(db)
        more = await other.append(new_entries(3))
        assert [e.seq for e in more] == [size, size + 1, size + 2]
        assert await _verified(db) == size + 3
    finally:
        await db.dispose()


def _spawn(database_url: str, *args: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), database_url, *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


async def test_two_processes_share_one_gap_free_duplicate_free_chain(database_url: str) -> None:
    procs = [_spawn(database_url, name, 20, 7, 4, 5) for name in ("p1", "p2")]
    for p in procs:
        out, err = await asyncio.to_thread(p.communicate, timeout=90)
        assert p.returncode == 0, err
        assert out.count("ACK") == 20
    db = Database(database_url)
    try:
        assert await _verified(db) == 2 * 20 * 7 + 5
    finally:
        await db.dispose()


async def test_sigkill_mid_batch_keeps_every_acknowledged_entry(database_url: str) -> None:
    proc = _spawn(database_url, "k", 0, 200, 3)
    acked: list[tuple[int, int]] = []
    assert proc.stdout is not None
    while len(acked) < 6:
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line, proc.stderr.read() if proc.stderr else ""
        _, _, first, last = line.split()
        acked.append((int(first), int(last)))
    os.kill(proc.pid, signal.SIGKILL)  # batches are in flight: three appenders never pause
    await asyncio.to_thread(proc.wait)
    # anything printed before the kill landed too
    for line in (proc.stdout.read() or "").splitlines():
        if line.startswith("ACK"):
            _, _, first, last = line.split()
            acked.append((int(first), int(last)))
    db = Database(database_url)
    try:
        restarted = LedgerWriter(db)
        await restarted.append(new_entries(5))
        await _verified(db)
        wanted = {f"k-{n}" for first, last in acked for n in range(first, last + 1)}
        async with db.read() as conn:
            found = await repository.get_many_by_event_id(conn, sorted(wanted))
        assert set(found) == wanted
    finally:
        await db.dispose()
