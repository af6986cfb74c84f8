"""Installs the ledger writer and the checkpointer into the runtime.

The checkpointer signs a new checkpoint at most once per ``checkpoint_interval_seconds``: at once
when this process's writer commits (after the interval since the last one), and by polling for
growth made by other processes, so a checkpoint follows any growth within two intervals.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from atlas.ledger import service
from atlas.ledger.checkpoint import LogSigner
from atlas.ledger.writer import LedgerWriter
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.ledger")


class LedgerComponent:
    name = "ledger"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.writer = LedgerWriter(runtime.db)
        self.signer = LogSigner(runtime.settings.resolved_log_origin, runtime.secrets.log_seed)
        self.interval = max(0.05, runtime.settings.checkpoint_interval_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.writer.listeners.append(lambda _size: self._wake.set())

    async def checkpoint_now(self) -> str | None:
        async with self.runtime.db.write() as conn:
            return await service.issue_checkpoint(conn, self.signer, self.runtime.clock.now())

    async def start(self, runtime: Runtime) -> None:
        try:
            await self.checkpoint_now()  # the empty tree, or growth while no server ran
        except Exception as exc:  # a database that is down at start is /readyz's to report
            log.warning("checkpoint_failed", error=type(exc).__name__)
        self._task = asyncio.create_task(self._run(), name="ledger-checkpointer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancel from stop().
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            wait = last + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wake.clear()
            try:
                await self.checkpoint_now()
            except Exception as exc:  # the database may be briefly away; try again next round
                log.warning("checkpoint_failed", error=type(exc).__name__)
            last = loop.time()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.writer.flush()


def install(runtime: Runtime) -> None:
    component = LedgerComponent(runtime)
    runtime.services["ledger"] = component.writer
    runtime.services["ledger_signer"] = component.signer
    runtime.services["ledger_checkpointer"] = component
    runtime.components.append(component)
