"""Event bridge benchmark: outbox → bus → ledger throughput, and commit-to-ledger lag.

Usage: .venv/bin/python bench/events.py [--quick] [--backend real|embedded|both] [--phase drain|sustained|lag|cpu] [--rate EV_PER_S]

* ``real``: PostgreSQL (127.0.0.1:5432, a scratch database created and dropped here) and a private
  ``redis-server`` (AOF, fsync every second) on a free loopback port.
* ``embedded``: SQLite (a temporary file) and the in-process bus.

Each backend runs one server runtime (relay, ledger subscriber, real ledger writer) in this process:
1. drain: N events already committed to the outbox, then the bridge starts; events/s until the
   ledger holds all of them;
2. sustained: a writer commits N events (100 per transaction) while the bridge runs; events/s from
   the first commit to the last ledger entry;
3. lag: a writer commits 10 events every 10 ms (1,000 events/s) for a while; for each event, the
   time from its commit returning to the ledger append that holds it returning (p50/p99/max);
4. cpu: sign-in-shaped traffic — one transaction of USER_REGISTERED + LOGIN (a new wallet) every
   10 ms (200 events/s by default, ``--rate``; batches stay small, as behind sign-ins) — through the whole pipeline including the ``trust`` projection; this
   process's CPU time per event from the first commit until the projection's offset holds the last
   one (``cpu_us_per_event``: the number to compare, less noisy than rates on a shared box).
Prints one JSON object. ``--phase NAME`` runs one phase only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from atlas.app import build_runtime  # noqa: E402  # after the path tweak for a source checkout
from atlas.config import Settings  # noqa: E402
from atlas.events import repository as events_repo  # noqa: E402
from atlas.events.models import ContentAction, Login, UserRegistered  # noqa: E402
from atlas.events.outbox import emit  # noqa: E402
from atlas.ledger.entries import prepare  # noqa: E402
from atlas.migrate import upgrade_database  # noqa: E402
from atlas.runtime import Runtime  # noqa: E402

PG_ADMIN = os.environ.get("ATLAS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
         "--appendfsync", "everysec", "--dir", str(directory), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class TimedLedger:
    """Wraps the real ledger writer to note when each event's append returned."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.appended: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expect = 0
        self.busy = 0.0  # seconds spent inside the ledger's append

    async def append(self, items: Sequence[Any]) -> list[Any]:
        return await self.append_with(items, None)

    async def append_with(self, items: Sequence[Any], hook: Any) -> list[Any]:
        start = time.perf_counter()
        result: list[Any] = await self.writer.append_prepared([prepare(i) for i in items], hook)
        now = time.perf_counter()
        self.busy += now - start
        for item in items:
            self.appended.setdefault(item.event_id, now)
        if self.expect and len(self.appended) >= self.expect:
            self.done.set()
        return result


def _events(n: int, start: int) -> list[ContentAction]:
    return [ContentAction(actor=f"0x{(start + i) % 50:040x}", data={"n": start + i}) for i in range(n)]


async def commit(runtime: Runtime, events: list[ContentAction]) -> float:
    async with runtime.db.write() as conn:
        await emit(conn, list(events), at=runtime.clock.now())
    runtime.committed()
    return time.perf_counter()


def _sign_in_events(i: int) -> list[UserRegistered | Login]:
    wallet = f"0x{i:040x}"
    return [
        UserRegistered(actor=wallet, chain="eip155:1", referral_code=f"R{i:07d}"),
        Login(actor=wallet, chain="eip155:1", session_hash=f"{i:064x}"),
    ]


CPU_RATE = 200  # events/s offered in the cpu phase (--rate)


async def cpu_phase(runtime: Runtime, n: int) -> dict[str, Any]:
    """Sign-in-shaped commits at CPU_RATE events/s; CPU of this process per event until projected."""
    ticks = n // 6
    interval = 2 / CPU_RATE
    cpu0, t0 = time.process_time(), time.perf_counter()
    for tick in range(ticks):
        await commit(runtime, _sign_in_events(tick))  # type: ignore[arg-type]  # a list of events
        delay = t0 + (tick + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    last = 2 * ticks - 1
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline:
        async with runtime.db.read() as conn:
            if await events_repo.read_offset(conn, "trust") >= last:
                break
        await asyncio.sleep(0.01)
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    return {
        "events": 2 * ticks, "offered_events_per_s": CPU_RATE, "seconds": round(elapsed, 3), "cpu_s": round(cpu, 3),
        "cpu_us_per_event": round(cpu / (2 * ticks) * 1e6),
    }


async def run_phase(settings: Settings, phase: str, n: int, seconds: float) -> dict[str, Any]:
    runtime = build_runtime(settings)
    ledger = TimedLedger(runtime.services["ledger"])
    runtime.services["ledger"] = ledger
    try:
        if phase == "drain":
            for i in range(0, n, 1000):
                await commit(runtime, _events(min(1000, n - i), i))
            ledger.expect = n
            t0 = time.perf_counter()
            await runtime.start()
            await asyncio.wait_for(ledger.done.wait(), 600)
            elapsed = time.perf_counter() - t0
            return {
                "events": n, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed),
                "ledger_append_share": round(ledger.busy / elapsed, 2),
            }
        await runtime.start()
        if phase == "cpu":
            return await cpu_phase(runtime, n)
        if phase == "sustained":
            ledger.expect = n
            t0 = time.perf_counter()
            for i in range(0, n, 100):
                await commit(runtime, _events(min(100, n - i), i))
            t_written = time.perf_counter() - t0
            await asyncio.wait_for(ledger.done.wait(), 600)
            elapsed = time.perf_counter() - t0
            return {
                "events": n, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed),
                "write_only_events_per_s": round(n / t_written),
                "ledger_append_share": round(ledger.busy / elapsed, 2),
            }
        # lag: 10 events every 10 ms
        committed: dict[str, float] = {}
        ticks = int(seconds * 100)
        t0 = time.perf_counter()
        for tick in range(ticks):
            batch = _events(10, tick * 10)
            at = await commit(runtime, batch)
            for e in batch:
                committed[e.event_id] = at
            delay = t0 + (tick + 1) * 0.01 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        achieved = len(committed) / (time.perf_counter() - t0)
        ledger.expect = len(committed)
        await asyncio.wait_for(ledger.done.wait(), 600)
        lags = sorted((ledger.appended[k] - v) * 1000 for k, v in committed.items())

        def pct(p: float) -> float:
            return round(lags[min(len(lags) - 1, int(p * len(lags)))], 1)

        return {
            "events": len(lags), "offered_events_per_s": round(achieved),
            "lag_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": round(lags[-1], 1)},
        }
    finally:
        await runtime.stop()
        await runtime.db.dispose()


async def bench_backend(backend: str, quick: bool, phases: Sequence[str]) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="atlas-bench-events-"))
    redis_proc = None
    db_name = None
    try:
        common: dict[str, Any] = {
            "data_dir": tmp / "data",
            "secret_key": base64.b64encode(b"b" * 32).decode(),
            "log_key": base64.b64encode(b"l" * 32).decode(),
            "log_level": "WARNING",
            "events_batch_size": 1000,
        }
        out: dict[str, Any] = {}
        n = 3000 if quick else 20000
        lag_seconds = 3.0 if quick else 10.0
        for phase in phases:
            # a fresh database and bus per phase, so one phase's backlog never slows the next
            if backend == "real":
                db_name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
                await pg_admin(f'CREATE DATABASE "{db_name}"')
                url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}"
                (tmp / phase).mkdir()
                redis_proc, redis_url = start_redis(tmp / phase)
                settings = Settings(database_url=url, redis_url=redis_url, redis_namespace="bench", **common)
            else:
                url = f"sqlite+aiosqlite:///{tmp / f'{phase}.db'}"
                settings = Settings(database_url=url, redis_url=None, **common)
            await asyncio.to_thread(upgrade_database, url)
            try:
                out[phase] = await run_phase(settings, phase, n, lag_seconds)
            finally:
                if redis_proc is not None:
                    redis_proc.kill()
                    redis_proc.wait()
                    redis_proc = None
                if db_name is not None:
                    await pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                    db_name = None
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    backend = "both"
    if "--backend" in argv:
        backend = argv[argv.index("--backend") + 1]
    phases: Sequence[str] = ("drain", "sustained", "lag", "cpu")
    if "--phase" in argv:
        phases = (argv[argv.index("--phase") + 1],)
    if "--rate" in argv:
        global CPU_RATE  # noqa: PLW0603 - a command-line setting of this script
        CPU_RATE = int(argv[argv.index("--rate") + 1])
    results: dict[str, Any] = {"quick": quick, "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    for name in ("real", "embedded") if backend == "both" else (backend,):
        results[name] = await bench_backend(name, quick, phases)
    results["targets"] = {"sustained_events_per_s_via_redis": 5000, "p99_lag_ms_at_1000_per_s": 250}
    print(json.dumps(results))


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    asyncio.run(main(sys.argv[1:]))
