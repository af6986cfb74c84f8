"""The bus contract over Redis Streams (``ATLAS_REDIS_URL`` set): durable, shared by processes.

Every key starts with ``settings.redis_namespace``. Streams: ``<ns>:events`` (outbox → ledger,
consumer group ``ledger``), ``<ns>:ledger`` (ledger entries for projections, id ``<seq+1>-0``),
``<ns>:<stream>:dead`` (dead letters, each with its reason). Leases: ``<ns>:lease:<name>``.
Redis should run with AOF (``appendonly yes``) so that a killed server keeps what it acknowledged;
if it does lose messages, the relay republishes undelivered outbox rows (at-least-once holds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from atlas.events.bus import DeadLetter, GroupMissingError, Message, format_id, parse_id

_LEASE = """
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _messages(raw: Any) -> list[Message]:
    return [Message(mid, dict(fields)) for mid, fields in raw if fields is not None]


def _group_error(exc: ResponseError) -> Exception:
    return GroupMissingError(str(exc)) if "NOGROUP" in str(exc) else exc


class RedisBus:
    durable = True

    def __init__(self, url: str, namespace: str) -> None:
        self.ns = namespace
        # Any: redis-py's stubs type replies for every decode mode at once, which helps nobody here.
        self.redis: Any = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=10, health_check_interval=15
        )
        self._lease = self.redis.register_script(_LEASE)
        self._release = self.redis.register_script(_RELEASE)

    def key(self, stream: str) -> str:
        return f"{self.ns}:{stream}"

    async def add(
        self, stream: str, items: Sequence[Mapping[str, str]], *, ids: Sequence[str] | None = None
    ) -> list[str | None]:
        if not items:
            return []
        key = self.key(stream)
        async with self.redis.pipeline(transaction=False) as pipe:
            for i, item in enumerate(items):
                pipe.xadd(key, dict(item), id=ids[i] if ids is not None else "*")
            results = await pipe.execute(raise_on_error=False)
        out: list[str | None] = []
        for result in results:
            if isinstance(result, ResponseError):
                if ids is not None and "equal or smaller" in str(result):
                    out.append(None)
                    continue
                raise result
            if isinstance(result, Exception):
                raise result
            out.append(str(result))
        return out

    async def read(self, stream: str, after: str, count: int, block_ms: int = 0) -> list[Message]:
        reply = await self.redis.xread({self.key(stream): after}, count=count, block=block_ms or None)
        return _messages(reply[0][1]) if reply else []

    async def ensure_group(self, stream: str, group: str) -> None:
        try:
            await self.redis.xgroup_create(self.key(stream), group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0, *, pending: bool = False
    ) -> list[Message]:
        try:
            reply = await self.redis.xreadgroup(
                group,
                consumer,
                {self.key(stream): "0" if pending else ">"},
                count=count,
                block=None if pending or not block_ms else block_ms,
            )
        except ResponseError as exc:
            raise _group_error(exc) from exc
        return _messages(reply[0][1]) if reply else []

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(await self.redis.xack(self.key(stream), group, *ids))

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 1000
    ) -> list[Message]:
        out: list[Message] = []
        start = "0-0"
        try:
            while len(out) < count:
                reply = await self.redis.xautoclaim(
                    self.key(stream), group, consumer, min_idle_ms, start_id=start, count=min(count, 500)
                )
                start, claimed = reply[0], reply[1]
                out.extend(_messages(claimed))
                if start == "0-0":
                    break
        except ResponseError as exc:
            raise _group_error(exc) from exc
        out.sort(key=lambda m: parse_id(m.id))
        return out[:count]

    async def _group_info(self, stream: str, group: str) -> dict[str, Any]:
        try:
            groups = await self.redis.xinfo_groups(self.key(stream))
        except ResponseError as exc:
            raise GroupMissingError(str(exc)) from exc
        for info in groups:
            if info["name"] == group:
                return dict(info)
        raise GroupMissingError(f"NOGROUP {group}")

    async def pending(self, stream: str, group: str) -> int:
        return int((await self._group_info(stream, group))["pending"])

    async def group_lag(self, stream: str, group: str) -> int:
        info = await self._group_info(stream, group)
        lag = info.get("lag")
        if lag is None:  # Redis cannot tell after some deletions: count what follows the cursor
            after = parse_id(str(info["last-delivered-id"]))
            lag = len(await self.redis.xrange(self.key(stream), min=f"({format_id(after)}", count=100_000))
        return int(lag) + int(info["pending"])

    async def dead_letter(self, stream: str, message: Message, reason: str, deliveries: int) -> None:
        await self.redis.xadd(
            self.key(f"{stream}:dead"),
            {
                "message_id": message.id,
                "fields": json.dumps(message.fields, sort_keys=True),
                "reason": reason[:2000],
                "deliveries": str(deliveries),
            },
        )

    async def dead_letters(self, stream: str, count: int = 100) -> list[DeadLetter]:
        raw = await self.redis.xrange(self.key(f"{stream}:dead"), count=count)
        return [
            DeadLetter(mid, f["message_id"], json.loads(f["fields"]), f["reason"], int(f["deliveries"]))
            for mid, f in raw
        ]

    async def dead_letter_count(self, stream: str) -> int:
        return int(await self.redis.xlen(self.key(f"{stream}:dead")))

    async def trim_acked(self, stream: str, group: str) -> int:
        info = await self._group_info(stream, group)
        if int(info["pending"]):
            summary = await self.redis.xpending(self.key(stream), group)
            floor = str(summary["min"])
        else:
            ms, n = parse_id(str(info["last-delivered-id"]))
            floor = format_id((ms, n + 1))
        return int(await self.redis.xtrim(self.key(stream), minid=floor, approximate=False))

    async def trim_maxlen(self, stream: str, maxlen: int) -> None:
        await self.redis.xtrim(self.key(stream), maxlen=maxlen, approximate=True)

    async def length(self, stream: str) -> int:
        return int(await self.redis.xlen(self.key(stream)))

    async def last_id(self, stream: str) -> str | None:
        raw = await self.redis.xrevrange(self.key(stream), count=1)
        return str(raw[0][0]) if raw else None

    async def lease(self, name: str, owner: str, ttl_ms: int) -> bool:
        return bool(await self._lease(keys=[self.key(f"lease:{name}")], args=[owner, ttl_ms]))

    async def release(self, name: str, owner: str) -> None:
        await self._release(keys=[self.key(f"lease:{name}")], args=[owner])

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
