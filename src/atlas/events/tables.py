"""The transactional outbox, the projection offsets, and dead letters recorded by the embedded bus.

``outbox.published_at`` says the relay handed the row to the bus; ``delivered_at`` says the ledger
holds it; ``dead_at`` says the subscriber gave up on it (a dead letter records why). The gap between them is what the relay republishes when a bus lost messages (the
in-process bus on a crash, a Redis without persistence), so a row is never lost between the two.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text, text

from atlas.db import metadata

# BigInteger on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
_Id = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # canonical JSON of Event.payload()
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("dead_at", DateTime(timezone=True), nullable=True),  # dead-lettered: not republished
    Index(
        "ix_outbox_unpublished",
        "id",
        sqlite_where=text("published_at IS NULL"),
        postgresql_where=text("published_at IS NULL"),
    ),
    Index(
        "ix_outbox_undelivered",
        "id",
        sqlite_where=text("delivered_at IS NULL"),
        postgresql_where=text("delivered_at IS NULL"),
    ),
    Index("ix_outbox_delivered_at", "delivered_at"),
)

# One row per named projection: the last ledger seq whose effects it has committed. The row is
# updated in the same transaction as the projection's effects (exactly-once application).
event_consumers = Table(
    "event_consumers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Messages the ledger subscriber gave up on after N failed deliveries. Redis keeps its own
# dead-letter stream too; the in-process bus has no storage of its own, so this is its record.
event_dead_letters = Table(
    "event_dead_letters",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("stream", String(64), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=True),
    Column("fields", Text, nullable=False),  # canonical JSON of the message fields
    Column("reason", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)
