"""The events domain's view of the ledger: what it appends and what it reads back.

The ledger domain owns ``atlas.ledger`` (``NewEntry``, ``LedgerEntry`` and the service in
``runtime.services["ledger"]``). This module names only what the bridge relies on, so that the
bridge works (and is tested) against any ledger with that shape:

* ``append(items: Sequence[NewEntry]) -> list[LedgerEntry]``: idempotent by ``event_id`` (a
  repeated event returns its existing entry), entries in the order given;
* optionally a reader, ``entries(after: int, limit: int) -> Sequence[LedgerEntry]`` (``seq > after``
  in order), used when the ledger stream cannot supply a range (trimmed, lost, or a replay).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from atlas.kit.canonical import canonical_str


class LedgerEntryLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class FallbackNewEntry:
    """Same fields as ``atlas.ledger.NewEntry``; used only while the ledger domain is absent."""

    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class FeedEntry:
    """A ledger entry as the projection feed delivers it (the attributes of ``LedgerEntry``)."""

    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: datetime
    prev_hash: str
    hash: str


def new_entry(*, event_id: str, event_type: str, actor: str, payload: dict[str, Any], timestamp: datetime) -> Any:
    """Build the ledger's own ``NewEntry`` when it exists, the look-alike otherwise."""
    try:
        cls: Any = importlib.import_module("atlas.ledger").NewEntry
    except (ModuleNotFoundError, AttributeError):
        cls = FallbackNewEntry
    return cls(event_id=event_id, event_type=event_type, actor=actor, payload=payload, timestamp=timestamp)


Appender = Callable[[Sequence[Any]], Awaitable[Sequence[LedgerEntryLike]]]
Reader = Callable[[int, int], Awaitable[Sequence[LedgerEntryLike]]]


def appender(ledger: Any) -> Appender:
    fn: Appender = ledger.append
    return fn


def reader(ledger: Any) -> Reader | None:
    """The ledger's range reader, if it offers one (``entries(after, limit)``)."""
    fn = getattr(ledger, "entries", None)
    return fn if callable(fn) else None


def entry_fields(entry: LedgerEntryLike) -> dict[str, str]:
    """A ledger entry as ledger-stream message fields (strings only)."""
    return {
        "seq": str(entry.seq),
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "actor": entry.actor,
        "payload": canonical_str(dict(entry.payload)),
        "timestamp": entry.timestamp.isoformat(),
        "prev_hash": str(getattr(entry, "prev_hash", "")),
        "hash": entry.hash,
    }


def feed_entry(fields: Mapping[str, str]) -> FeedEntry:
    return FeedEntry(
        seq=int(fields["seq"]),
        event_id=fields["event_id"],
        event_type=fields["event_type"],
        actor=fields["actor"],
        payload=json.loads(fields["payload"]),
        timestamp=datetime.fromisoformat(fields["timestamp"]),
        prev_hash=fields.get("prev_hash", ""),
        hash=fields["hash"],
    )


def as_feed_entry(entry: LedgerEntryLike) -> FeedEntry:
    return feed_entry(entry_fields(entry)) if not isinstance(entry, FeedEntry) else entry
