"""The events domain's view of the ledger: what it appends and what it reads back.

The ledger domain owns ``atlas.ledger`` (``NewEntry``, ``LedgerEntry`` and the service in
``runtime.services["ledger"]``). This module names only what the bridge relies on, so that the
bridge works (and is tested) against any ledger with that shape:

* ``append(items: Sequence[NewEntry]) -> list[LedgerEntry]``: idempotent by ``event_id`` (a
  repeated event returns its existing entry), entries in the order given;
* optionally ``append_with(items, hook)``: the same, with ``await hook(conn, entries)`` run inside
  the append's transaction (the bridge marks its outbox rows delivered there);
* optionally a reader, ``entries(after: int, limit: int) -> Sequence[LedgerEntry]`` (``seq > after``
  in order), used when the ledger stream cannot supply a range (trimmed, lost, or a replay).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.db import Database
from atlas.events.codec import decode, encode_entry
from atlas.kit.canonical import canonical_str
from atlas.kit.clock import parse_rfc3339, rfc3339


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
    def timestamp(self) -> str | datetime: ...  # the ledger's is RFC 3339 text
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
    """Same fields as ``atlas.ledger.LedgerEntry``; delivered only while that type is absent."""

    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str  # RFC 3339 UTC with Z
    prev_hash: str
    hash: str


@functools.cache
def _ledger_attr(name: str) -> Any:
    for module in ("atlas.ledger", "atlas.ledger.entries"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            continue
    return None


def new_entry(*, event_id: str, event_type: str, actor: str, payload: dict[str, Any], timestamp: datetime) -> Any:
    """Build the ledger's own ``NewEntry`` when it exists, the look-alike otherwise."""
    cls: Any = _ledger_attr("NewEntry") or FallbackNewEntry
    return cls(event_id=event_id, event_type=event_type, actor=actor, payload=payload, timestamp=timestamp)


Appender = Callable[[Sequence[Any]], Awaitable[Sequence[LedgerEntryLike]]]
Reader = Callable[[int, int], Awaitable[Sequence[LedgerEntryLike]]]


def appender(ledger: Any) -> Appender:
    fn: Appender = ledger.append
    return fn


Hook = Callable[[AsyncConnection, list[Any]], Awaitable[None]]


def joined_appender(ledger: Any, hook: Hook) -> Appender | None:
    """``append`` that also runs ``hook(conn, entries)`` in the append's own transaction, when the
    ledger offers that (``append_with(items, hook)``); None for a ledger that does not."""
    fn = getattr(ledger, "append_with", None)
    if not callable(fn):
        return None

    async def append(items: Sequence[Any]) -> Sequence[LedgerEntryLike]:
        return await fn(items, hook)  # type: ignore[no-any-return]  # duck-typed ledger service

    return append


def reader(ledger: Any | None, db: Database) -> Reader | None:
    """How to read ledger entries ``seq > after`` in order: the service's ``entries(after, limit)``
    if it has one, else the ledger repository's ``entries_after(conn, after, limit)``."""
    fn = getattr(ledger, "entries", None)
    if callable(fn):
        return fn  # type: ignore[no-any-return]  # duck-typed ledger service
    try:
        entries_after = importlib.import_module("atlas.ledger.repository").entries_after
    except (ModuleNotFoundError, AttributeError):
        return None

    async def read(after: int, limit: int) -> Sequence[LedgerEntryLike]:
        async with db.read() as conn:
            return await entries_after(conn, after, limit)  # type: ignore[no-any-return]  # imported dynamically

    return read


def timestamp_text(value: str | datetime) -> str:
    return value if isinstance(value, str) else rfc3339(value)


def entry_time(entry: LedgerEntryLike) -> datetime:
    value = entry.timestamp
    return parse_rfc3339(value) if isinstance(value, str) else value


def entry_fields(entry: LedgerEntryLike, payload_json: str | None = None) -> dict[str, str]:
    """A ledger entry as a ledger-stream message."""
    return encode_entry(
        seq=entry.seq,
        event_id=entry.event_id,
        event_type=entry.event_type,
        actor=entry.actor,
        payload_json=payload_json if payload_json is not None else canonical_str(dict(entry.payload)),
        timestamp=timestamp_text(entry.timestamp),
        prev_hash=str(getattr(entry, "prev_hash", "")),
        entry_hash=entry.hash,
    )


def feed_entry(fields: Mapping[str, str]) -> Any:
    """Rebuild a delivered entry: an ``atlas.ledger.LedgerEntry`` when that type exists."""
    cls: Any = _ledger_attr("LedgerEntry") or FeedEntry
    v = decode(fields)
    return cls(
        seq=int(v["seq"]),
        event_id=v["event_id"],
        event_type=v["event_type"],
        actor=v["actor"],
        payload=v["payload"],
        timestamp=v["timestamp"],
        prev_hash=v.get("prev_hash", ""),
        hash=v["hash"],
    )


def as_feed_entry(entry: LedgerEntryLike) -> Any:
    cls: Any = _ledger_attr("LedgerEntry") or FeedEntry
    return entry if isinstance(entry, cls) else feed_entry(entry_fields(entry))
