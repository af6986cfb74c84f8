"""Wiring: the bus, the outbox relay, the ledger subscriber, the projection runners, the monitor.

``install(runtime)`` runs after the ledger domain's (``DOMAINS`` order) and before the domains that
register projections, whose runners start with the runtime. ``runtime.services``: ``"bus"`` (the
:class:`~atlas.events.bus.Bus`), ``"events"`` (:class:`EventBridge`, handles on the parts).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog

from atlas.events import repository as repo
from atlas.events._tasks import stop_task
from atlas.events.bus import GROUP_LEDGER, STREAM_EVENTS, STREAM_LEDGER, Bus, InProcessBus, parse_id
from atlas.events.metrics import CONSUMER_LAG_ENTRIES, DEAD_LETTERS, OUTBOX_DEPTH, PENDING, STREAM_LENGTH
from atlas.events.projections import Projections, registry
from atlas.events.relay import OutboxRelay
from atlas.events.subscriber import LedgerSubscriber
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.events")


def make_bus(runtime: Runtime) -> Bus:
    settings = runtime.settings
    if settings.redis_url:
        from atlas.events.redis_bus import RedisBus

        return RedisBus(settings.redis_url, settings.redis_namespace)
    return InProcessBus()


class _BusLifetime:
    """First to start, last to stop: closes the bus connection after everything using it stopped."""

    name = "events.bus"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def start(self, runtime: Runtime) -> None:
        return None

    async def stop(self) -> None:
        with contextlib.suppress(Exception):  # closing a connection to a dead Redis may fail
            await self.bus.close()


class Monitor:
    """Refreshes the bridge's gauges every few seconds (a scrape never waits on Redis)."""

    name = "events.monitor"

    def __init__(self, bus: Bus, projections: Projections, interval: float = 5.0) -> None:
        self.bus = bus
        self.projections = projections
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._runtime: Runtime | None = None

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._task = asyncio.create_task(self._run(), name="events.monitor")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def refresh(self) -> None:
        if self._runtime is None:
            raise RuntimeError("monitor not started")
        async with self._runtime.db.read() as conn:
            unpublished, undelivered = await repo.outbox_depth(conn)
        OUTBOX_DEPTH.labels("unpublished").set(unpublished)
        OUTBOX_DEPTH.labels("undelivered").set(undelivered)
        for stream in (STREAM_EVENTS, STREAM_LEDGER):
            STREAM_LENGTH.labels(stream).set(await self.bus.length(stream))
        DEAD_LETTERS.labels(STREAM_EVENTS).set(await self.bus.dead_letter_count(STREAM_EVENTS))
        with contextlib.suppress(LookupError):  # the group appears once the subscriber ran
            PENDING.labels(STREAM_EVENTS, GROUP_LEDGER).set(await self.bus.pending(STREAM_EVENTS, GROUP_LEDGER))
            CONSUMER_LAG_ENTRIES.labels("ledger").set(await self.bus.group_lag(STREAM_EVENTS, GROUP_LEDGER))
        last = await self.bus.last_id(STREAM_LEDGER)
        if last is not None:
            await self.projections.update_lag(parse_id(last)[0] - 1)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: the gauges keep their last values
                log.debug("events monitor refresh failed", error=type(exc).__name__)


@dataclass
class EventBridge:
    bus: Bus
    relay: OutboxRelay
    subscriber: LedgerSubscriber
    projections: Projections
    monitor: Monitor


def install(runtime: Runtime) -> None:
    bus = make_bus(runtime)
    registry(runtime)
    bridge = EventBridge(
        bus=bus,
        relay=OutboxRelay(bus),
        subscriber=LedgerSubscriber(bus),
        projections=(projections := Projections(bus)),
        monitor=Monitor(bus, projections),
    )
    runtime.services["bus"] = bus
    runtime.services["events"] = bridge
    if bus.durable:
        runtime.probes["redis"] = bus.ping
    runtime.components.extend(
        [_BusLifetime(bus), bridge.relay, bridge.subscriber, bridge.projections, bridge.monitor]
    )
