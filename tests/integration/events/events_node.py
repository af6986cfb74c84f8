"""A server process for the crash tests: the event bridge with the fake ledger, configured by ATLAS_*.

Until the ledger domain is on main, ``atlas serve`` has no ledger to append to, so the crash tests
run this instead: the same runtime and components as ``atlas serve`` (``build_runtime``), with the
SQL-backed fake ledger from ``events_helpers`` in ``services["ledger"]``.

Usage: python events_node.py [EMIT_ACTOR EMIT_COUNT]. Prints ``ready`` once started and, when told to
emit, ``acked <event_id>`` after each committed transaction (an acknowledged write), then ``done``.
"""

from __future__ import annotations

import asyncio
import os
import sys

from events_helpers import FakeLedger, emit_events

from atlas.app import build_runtime
from atlas.config import Settings
from atlas.observability import configure_logging


class SlowLedger(FakeLedger):
    """Widens the window between a committed append and its acknowledgement (to be killed in)."""

    async def append(self, items):  # type: ignore[no-untyped-def]  # test double
        out = await super().append(items)
        await asyncio.sleep(float(os.environ.get("FAKE_LEDGER_SLEEP_AFTER", "0")))
        return out


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)  # to stderr: stdout carries the protocol
    runtime = build_runtime(settings)
    ledger = SlowLedger(runtime.db)
    await ledger.setup()
    runtime.services["ledger"] = ledger
    await runtime.start()
    print("ready", flush=True)
    if len(sys.argv) == 3:
        actor, count = sys.argv[1], int(sys.argv[2])
        for i in range(0, count, 3):
            for event_id in await emit_events(runtime, actor, min(3, count - i), start=i):
                print(f"acked {event_id}", flush=True)
            await asyncio.sleep(0.005)
        print("done", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
