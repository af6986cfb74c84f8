"""Ledger entries and their one byte-exact encoding (CONTRACT §3).

A body's canonical form is assembled by string concatenation: its seven keys are fixed ASCII names,
so their RFC 8785 order is known, and each string value is escaped by the same C encoder that
``atlas.kit.canonical`` uses. ``payload`` arrives already canonical. This keeps appends and exports
at C speed while producing exactly ``canonical_bytes(body)`` (a property test checks it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from atlas.kit.canonical import CanonicalError, canonical_str, loads_strict
from atlas.kit.clock import rfc3339

ZERO_HASH = "0" * 64
_quote = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class NewEntry:
    """What the events bridge hands the writer: one event to log."""

    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class Prepared:
    """An entry validated and encoded, waiting only for its ``seq`` and ``prev_hash``."""

    event_id: str
    event_type: str
    actor: str
    payload_json: str  # canonical
    timestamp: str  # RFC 3339 Z
    payload: dict[str, Any]


def prepare(item: NewEntry) -> Prepared:
    """Validate and encode outside the write lock; raises CanonicalError for floats, big ints, …"""
    for value in (item.event_id, item.event_type, item.actor):
        if type(value) is not str:
            raise CanonicalError("event_id, event_type and actor must be strings")
        value.encode("utf-8")  # refuses lone surrogates (UnicodeEncodeError is a ValueError)
    if not item.event_id or len(item.event_id) > 64:
        raise ValueError("event_id must be 1-64 characters")
    moment = item.timestamp
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; every stored time is UTC
        moment = moment.replace(tzinfo=UTC)
    return Prepared(
        event_id=item.event_id,
        event_type=item.event_type,
        actor=item.actor,
        payload_json=canonical_str(item.payload),
        timestamp=rfc3339(moment),
        payload=item.payload,
    )


def body_str(seq: int, p: Prepared, prev_hash: str) -> str:
    return (
        f'{{"actor":{_quote(p.actor)},"event_id":{_quote(p.event_id)},"event_type":{_quote(p.event_type)},'
        f'"payload":{p.payload_json},"prev_hash":"{prev_hash}","seq":{seq},"timestamp":{_quote(p.timestamp)}}}'
    )


def export_str(seq: int, p: Prepared, prev_hash: str, entry_hash: str) -> str:
    return (
        f'{{"actor":{_quote(p.actor)},"event_id":{_quote(p.event_id)},"event_type":{_quote(p.event_type)},'
        f'"hash":"{entry_hash}","payload":{p.payload_json},"prev_hash":"{prev_hash}","seq":{seq},'
        f'"timestamp":{_quote(p.timestamp)}}}'
    )


def entry_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str  # RFC 3339 Z
    prev_hash: str
    hash: str

    def _prepared(self) -> Prepared:
        return Prepared(
            self.event_id, self.event_type, self.actor, canonical_str(self.payload), self.timestamp, self.payload
        )

    def body(self) -> dict[str, Any]:
        """The §3 body (no ``hash``)."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "actor": self.actor,
            "payload": self.payload,
            "timestamp": self.timestamp,
            "prev_hash": self.prev_hash,
        }

    def canonical_body(self) -> bytes:
        return body_str(self.seq, self._prepared(), self.prev_hash).encode()

    def export_line(self) -> bytes:
        """Canonical body plus ``hash`` (no newline)."""
        return export_str(self.seq, self._prepared(), self.prev_hash, self.hash).encode()

    def as_json(self) -> dict[str, Any]:
        out = self.body()
        out["hash"] = self.hash
        return out

    @classmethod
    def from_row(cls, row: Any) -> LedgerEntry:
        return cls(
            seq=row.seq,
            event_id=row.event_id,
            event_type=row.event_type,
            actor=row.actor,
            payload=loads_strict(row.payload),
            timestamp=row.timestamp,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
