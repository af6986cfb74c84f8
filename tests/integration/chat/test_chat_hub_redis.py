"""Two hubs on one Redis channel: each delivers the other's events once and skips its own."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from atlas.chat.hub import Hub, frame_event

REDIS = os.environ.get("ATLAS_TEST_REDIS", "redis://127.0.0.1:6379/0")


class Sub:
    def __init__(self, wallet: str) -> None:
        self.wallet = wallet
        self.id = uuid.uuid4().hex
        self.got: list[dict[str, Any]] = []

    def offer(self, event: dict[str, Any]) -> None:
        self.got.append(event)


async def test_events_cross_processes_once() -> None:
    namespace = f"atlas-test-{uuid.uuid4().hex[:8]}"
    one, two = Hub(redis_url=REDIS, namespace=namespace), Hub(redis_url=REDIS, namespace=namespace)
    await one.start()
    await two.start()
    try:
        here, there = Sub("w"), Sub("w")
        one.register(here)
        two.register(there)
        await one.publish([frame_event(("w",), {"type": "typing", "n": 1})])
        await two.publish([frame_event(("w",), {"type": "typing", "n": 2})])
        for _ in range(100):
            if len(here.got) == 2 and len(there.got) == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert sorted(e["x"]["n"] for e in here.got) == [1, 2]
        assert sorted(e["x"]["n"] for e in there.got) == [1, 2]
    finally:
        await one.stop()
        await two.stop()


async def test_a_batch_is_one_message_in_order_and_single_events_still_parse() -> None:
    import json

    import redis.asyncio as aioredis

    namespace = f"atlas-test-{uuid.uuid4().hex[:8]}"
    one, two = Hub(redis_url=REDIS, namespace=namespace), Hub(redis_url=REDIS, namespace=namespace)
    await one.start()
    await two.start()
    raw = aioredis.Redis.from_url(REDIS)
    try:
        there = Sub("w")
        two.register(there)
        await one.publish([frame_event(("w",), {"type": "typing", "n": n}) for n in range(3)])
        for n in (3, 4):  # separate batches, handed over back to back: the one sender keeps their order
            await one.publish([frame_event(("w",), {"type": "typing", "n": n})])
        await one.flush()  # publish hands the batch to the sender task; the next line must come after it
        # What an earlier version publishes: one JSON object per message.
        single = frame_event(("w",), {"type": "typing", "n": 5})
        await raw.publish(two.channel, b"elsewhere|" + json.dumps(single).encode())
        for _ in range(100):
            if len(there.got) == 6:
                break
            await asyncio.sleep(0.02)
        assert [e["x"]["n"] for e in there.got] == [0, 1, 2, 3, 4, 5]
    finally:
        await raw.aclose()
        await one.stop()
        await two.stop()
