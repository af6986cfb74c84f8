"""Coherence projection: per-wallet scores and the ledger facts they are computed from."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from atlas.db import metadata

coherence_scores = Table(
    "coherence_scores",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column("registered_seq", BigInteger, nullable=False),
    Column("registered_at", String(32), nullable=False),  # ledger timestamps, verbatim
    Column("as_of_seq", BigInteger, nullable=False),
    Column("as_of_at", String(32), nullable=False),
    Column("score", Integer, nullable=False),
    Column("trust_level", String(16), nullable=False),
    Column("formula_version", Integer, nullable=False),
)

coherence_links = Table(
    "coherence_links",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column("peer", String(64), primary_key=True),
    Column("sent_seq", BigInteger, nullable=True),
    Column("accepted_seq", BigInteger, nullable=True),
    Column("blocked_seq", BigInteger, nullable=True),
    Index("ix_coherence_links_peer", "peer"),
)

coherence_devices = Table(
    "coherence_devices",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column("device_id", String(64), primary_key=True),
    Column("registered_seq", BigInteger, nullable=False),
    Column("revoked_seq", BigInteger, nullable=True),
)
