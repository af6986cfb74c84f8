"""Background-task helpers that survive Python 3.11's asyncio corner cases.

``asyncio.wait_for`` on 3.11 can swallow a cancellation that races with its inner future finishing,
which leaves a "cancelled" loop running forever and its ``stop()`` waiting forever. These helpers
use ``asyncio.timeout`` instead, and stop a task by cancelling it until it is really done.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; True if it was set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if not task.cancelled():
        with contextlib.suppress(Exception):  # already logged by the loop; stopping must not raise
            task.result()
