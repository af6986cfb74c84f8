"""The ledger's tables: entries (append-only), complete Merkle subtree nodes, the head row, checkpoints.

``ledger_entries`` stores each body's fields exactly as hashed: ``payload`` as its canonical JSON text
and ``timestamp`` as the RFC 3339 string, so re-encoding a row reproduces its hash byte for byte.
Triggers installed by the migration reject UPDATE and DELETE on entries, nodes and checkpoints.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, SmallInteger, String, Table, Text

from atlas.db import metadata

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("payload", Text, nullable=False),
    Column("timestamp", String(40), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Node (level, idx) is MTH of leaves idx·2^level … (idx+1)·2^level − 1; level 0 holds leaf hashes.
ledger_nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# One row (id = 1): the tree size and last hash. Writers lock it (PostgreSQL: SELECT … FOR UPDATE),
# which makes every append, from any process, take its turn.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
