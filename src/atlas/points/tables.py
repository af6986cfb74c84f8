"""Genesis Points projection: one row per POINTS_AWARDED ledger entry, and the balances they sum to."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from atlas.db import metadata

points_awards = Table(
    "points_awards",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # the POINTS_AWARDED entry
    Column("wallet", String(64), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("source_event_id", String(64), nullable=False),
    Column("source_seq", BigInteger, nullable=True),  # the entry that caused the award
    Index("ix_points_awards_wallet_seq", "wallet", "seq"),
)

points_balances = Table(
    "points_balances",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("award_count", Integer, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)
