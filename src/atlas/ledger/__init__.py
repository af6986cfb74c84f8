"""The Genesis Ledger: an append-only, hash-chained RFC 9162 Merkle log with signed checkpoints."""

from atlas.ledger.entries import LedgerEntry, NewEntry
from atlas.ledger.writer import LedgerWriter

__all__ = ["LedgerEntry", "LedgerWriter", "NewEntry"]
