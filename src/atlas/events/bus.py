"""The bus contract, and the in-process bus that implements it for the embedded default.

The contract is the subset of Redis Streams the event bridge needs: append-only streams of
string-keyed messages with ordered ids (``<ms>-<n>``, or explicit ids such as the ledger stream's
``<seq+1>-0``), consumer groups with a pending-entries list, acknowledgement, claiming stale
pending entries, dead letters with a reason, trimming what a group has acknowledged, and a lease
that elects one ledger subscriber among several processes. :mod:`atlas.events.redis_bus` is the
same contract over Redis; ``tests/unit/events/test_events_bus_contract.py`` runs one suite on both.

The in-process bus is not durable (``durable = False``): a crash forgets everything in it. The
outbox covers that: rows stay undelivered until the ledger holds them, and the relay republishes
undelivered rows a non-durable bus has lost (see :mod:`atlas.events.relay`).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from atlas.events._tasks import wait_event

STREAM_EVENTS = "events"
STREAM_LEDGER = "ledger"
GROUP_LEDGER = "ledger"


class GroupMissingError(LookupError):
    """The consumer group does not exist (e.g. Redis restarted empty); ``ensure_group`` again."""


@dataclass(frozen=True)
class Message:
    id: str
    fields: dict[str, str]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    message_id: str
    fields: dict[str, str]
    reason: str
    deliveries: int


class Bus(Protocol):
    """What the relay, the ledger subscriber and the projection feed need from a broker."""

    durable: bool

    async def add(
        self, stream: str, items: Sequence[Mapping[str, str]], *, ids: Sequence[str] | None = None
    ) -> list[str | None]:
        """Append messages. With explicit ``ids``, one not above the stream's top is skipped (None)."""
        ...

    async def read(self, stream: str, after: str, count: int, block_ms: int = 0) -> list[Message]:
        """Messages with an id above ``after`` (no group), waiting up to ``block_ms`` for one."""
        ...

    async def ensure_group(self, stream: str, group: str) -> None: ...

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0, *, pending: bool = False
    ) -> list[Message]:
        """New messages for the group (``pending=False``), or the consumer's own unacknowledged ones."""
        ...

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int: ...

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 1000
    ) -> list[Message]:
        """Move pending messages idle for at least ``min_idle_ms`` (any consumer) to ``consumer``."""
        ...

    async def pending(self, stream: str, group: str) -> int: ...

    async def group_lag(self, stream: str, group: str) -> int:
        """Messages not yet acknowledged by the group: pending plus never delivered."""
        ...

    async def dead_letter(self, stream: str, message: Message, reason: str, deliveries: int) -> None: ...

    async def dead_letters(self, stream: str, count: int = 100) -> list[DeadLetter]: ...

    async def dead_letter_count(self, stream: str) -> int: ...

    async def trim_acked(self, stream: str, group: str) -> int:
        """Drop every message the group has acknowledged (nothing pending or undelivered)."""
        ...

    async def trim_maxlen(self, stream: str, maxlen: int) -> None: ...

    async def length(self, stream: str) -> int: ...

    async def last_id(self, stream: str) -> str | None: ...

    async def lease(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Acquire or renew a named lease; True while ``owner`` holds it."""
        ...

    async def release(self, name: str, owner: str) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def parse_id(value: str) -> tuple[int, int]:
    ms, _, n = value.partition("-")
    return int(ms), int(n or 0)


def format_id(value: tuple[int, int]) -> str:
    return f"{value[0]}-{value[1]}"


def seq_to_id(seq: int) -> str:
    """The ledger stream id of ledger entry ``seq`` (ids must be above 0-0, seqs start at 0)."""
    return f"{seq + 1}-0"


@dataclass
class _Pending:
    consumer: str
    delivered_at: float
    deliveries: int


@dataclass
class _Group:
    last_delivered: tuple[int, int] = (0, 0)
    pending: dict[tuple[int, int], _Pending] = field(default_factory=dict)


class _Stream:
    def __init__(self) -> None:
        self.ids: list[tuple[int, int]] = []
        self.start = 0  # index of the first live id (a trimmed prefix is compacted lazily)
        self.data: dict[tuple[int, int], dict[str, str]] = {}
        self.top: tuple[int, int] = (0, 0)
        self.groups: dict[str, _Group] = {}
        self.changed = asyncio.Event()

    def live(self) -> int:
        return len(self.ids) - self.start

    def index_after(self, after: tuple[int, int]) -> int:
        return bisect.bisect_right(self.ids, after, lo=self.start)

    def drop_before(self, index: int) -> int:
        index = min(index, len(self.ids))
        removed = max(0, index - self.start)
        for key in self.ids[self.start : index]:
            self.data.pop(key, None)
        self.start = max(self.start, index)
        if self.start > 1024 and self.start * 2 > len(self.ids):
            del self.ids[: self.start]
            self.start = 0
        return removed

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class InProcessBus:
    """Streams in this process's memory, for the embedded default (``ATLAS_REDIS_URL`` unset)."""

    durable = False

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._dead: dict[str, list[DeadLetter]] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream()
        return stream

    def _next_id(self, top: tuple[int, int]) -> tuple[int, int]:
        ms = int(time.time() * 1000)
        return (ms, 0) if ms > top[0] else (top[0], top[1] + 1)

    async def add(
        self, stream: str, items: Sequence[Mapping[str, str]], *, ids: Sequence[str] | None = None
    ) -> list[str | None]:
        s = self._stream(stream)
        out: list[str | None] = []
        for i, item in enumerate(items):
            if ids is not None:
                key = parse_id(ids[i])
                if key <= s.top:
                    out.append(None)
                    continue
            else:
                key = self._next_id(s.top)
            s.ids.append(key)
            s.data[key] = dict(item)
            s.top = key
            out.append(format_id(key))
        if items:
            s.notify()
        return out

    async def _wait(self, s: _Stream, block_ms: int) -> None:
        if block_ms <= 0:
            return
        waiter = s.changed
        await wait_event(waiter, block_ms / 1000)

    async def read(self, stream: str, after: str, count: int, block_ms: int = 0) -> list[Message]:
        s = self._stream(stream)
        key = parse_id(after)
        i = s.index_after(key)
        if i >= len(s.ids):
            await self._wait(s, block_ms)
            i = s.index_after(key)
        return [Message(format_id(k), dict(s.data[k])) for k in s.ids[i : i + count]]

    async def ensure_group(self, stream: str, group: str) -> None:
        self._stream(stream).groups.setdefault(group, _Group())

    def _group(self, stream: str, group: str) -> tuple[_Stream, _Group]:
        s = self._stream(stream)
        g = s.groups.get(group)
        if g is None:
            raise GroupMissingError(f"NOGROUP no such group {group!r} for stream {stream!r}")
        return s, g

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0, *, pending: bool = False
    ) -> list[Message]:
        s, g = self._group(stream, group)
        now = time.monotonic()
        if pending:
            out = []
            for key, p in g.pending.items():
                if p.consumer == consumer and key in s.data:
                    p.deliveries += 1
                    p.delivered_at = now
                    out.append(Message(format_id(key), dict(s.data[key])))
                    if len(out) >= count:
                        break
            return out
        i = s.index_after(g.last_delivered)
        if i >= len(s.ids):
            await self._wait(s, block_ms)
            s, g = self._group(stream, group)
            i = s.index_after(g.last_delivered)
        keys = s.ids[i : i + count]
        for key in keys:
            g.pending[key] = _Pending(consumer, time.monotonic(), 1)
        if keys:
            g.last_delivered = keys[-1]
        return [Message(format_id(k), dict(s.data[k])) for k in keys]

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        _, g = self._group(stream, group)
        done = 0
        for value in ids:
            if g.pending.pop(parse_id(value), None) is not None:
                done += 1
        return done

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 1000
    ) -> list[Message]:
        s, g = self._group(stream, group)
        now = time.monotonic()
        out = []
        for key in sorted(g.pending):
            p = g.pending[key]
            if (now - p.delivered_at) * 1000 < min_idle_ms:
                continue
            if key not in s.data:  # trimmed away under it: Redis drops such entries too
                del g.pending[key]
                continue
            p.consumer, p.delivered_at, p.deliveries = consumer, now, p.deliveries + 1
            out.append(Message(format_id(key), dict(s.data[key])))
            if len(out) >= count:
                break
        return out

    async def pending(self, stream: str, group: str) -> int:
        _, g = self._group(stream, group)
        return len(g.pending)

    async def group_lag(self, stream: str, group: str) -> int:
        s, g = self._group(stream, group)
        return len(s.ids) - s.index_after(g.last_delivered) + len(g.pending)

    async def dead_letter(self, stream: str, message: Message, reason: str, deliveries: int) -> None:
        letters = self._dead.setdefault(stream, [])
        letters.append(DeadLetter(str(len(letters) + 1), message.id, dict(message.fields), reason, deliveries))

    async def dead_letters(self, stream: str, count: int = 100) -> list[DeadLetter]:
        return list(self._dead.get(stream, [])[:count])

    async def dead_letter_count(self, stream: str) -> int:
        return len(self._dead.get(stream, []))

    async def trim_acked(self, stream: str, group: str) -> int:
        s, g = self._group(stream, group)
        floor = min(g.pending) if g.pending else None
        # Keep everything from the oldest pending message, or after the last delivered one.
        index = bisect.bisect_left(s.ids, floor, lo=s.start) if floor else s.index_after(g.last_delivered)
        return s.drop_before(index)

    async def trim_maxlen(self, stream: str, maxlen: int) -> None:
        s = self._stream(stream)
        if s.live() > maxlen:
            s.drop_before(len(s.ids) - maxlen)

    async def length(self, stream: str) -> int:
        return self._stream(stream).live()

    async def last_id(self, stream: str) -> str | None:
        s = self._streams.get(stream)
        return format_id(s.ids[-1]) if s is not None and s.live() else None

    async def lease(self, name: str, owner: str, ttl_ms: int) -> bool:
        now = time.monotonic()
        holder = self._leases.get(name)
        if holder is None or holder[0] == owner or holder[1] <= now:
            self._leases[name] = (owner, now + ttl_ms / 1000)
            return True
        return False

    async def release(self, name: str, owner: str) -> None:
        holder = self._leases.get(name)
        if holder is not None and holder[0] == owner:
            del self._leases[name]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
