"""Prometheus metrics of the event bridge, on ``atlas.observability.REGISTRY``.

Gauges are refreshed by the monitor task in :mod:`atlas.events.component` every few seconds, so a
scrape never waits on Redis; counters and the lag histogram are updated where the work happens.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from atlas.observability import REGISTRY

OUTBOX_DEPTH = Gauge(
    "atlas_events_outbox_depth",
    "Outbox rows by state: unpublished (not yet on the bus) or undelivered (not yet in the ledger)",
    ["state"],
    registry=REGISTRY,
)
STREAM_LENGTH = Gauge("atlas_events_stream_length", "Messages held in a bus stream", ["stream"], registry=REGISTRY)
PENDING = Gauge(
    "atlas_events_pending_entries", "Delivered but unacknowledged messages of a consumer group", ["stream", "group"],
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge("atlas_events_dead_letters", "Messages dead-lettered on a stream", ["stream"], registry=REGISTRY)
CONSUMER_LAG_ENTRIES = Gauge(
    "atlas_events_consumer_lag_entries",
    "Entries a consumer has yet to process (ledger subscriber: events; projections: ledger entries)",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG_MS = Gauge(
    "atlas_events_consumer_lag_milliseconds",
    "Age of the oldest entry a consumer has yet to process (0 when caught up)",
    ["consumer"],
    registry=REGISTRY,
)
PUBLISHED = Counter("atlas_events_published_total", "Outbox rows published to the bus", registry=REGISTRY)
REPUBLISHED = Counter(
    "atlas_events_republished_total", "Outbox rows published again because the ledger did not get them",
    registry=REGISTRY,
)
APPENDED = Counter("atlas_events_ledger_appended_total", "Events appended to the ledger by the subscriber", registry=REGISTRY)
DEAD_LETTERED = Counter("atlas_events_dead_lettered_total", "Events given up on after N deliveries", registry=REGISTRY)
BUS_ERRORS = Counter("atlas_events_bus_errors_total", "Bus operations that failed (and were retried)", ["component"], registry=REGISTRY)
PROJECTED = Counter("atlas_events_projected_total", "Ledger entries applied by a projection", ["consumer"], registry=REGISTRY)
COMMIT_TO_LEDGER = Histogram(
    "atlas_events_commit_to_ledger_seconds",
    "Time from an event's outbox write to its ledger append",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
