"""Live fan-out: who is connected here, and the bridge to the other server processes.

Every event goes to this process's matching connections at once and, when ``ATLAS_REDIS_URL`` is
set, to one Redis pub/sub channel under ``settings.redis_namespace`` that every process subscribes
to (skipping what it published itself). One ``publish`` call is one Redis message — a JSON list of
its events, in order — so a whole write batch costs one command to send and one message for every
process to read, not one per event (redis-py packs and parses RESP in Python). A single JSON
object (what earlier versions published) is still accepted. Redis carries only what the sockets carry (ciphertext and
metadata); the database stays the source of truth, so a process that missed a live event repairs the
gap from the database on the next one, and a reconnecting device resumes from its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

import structlog

log = structlog.get_logger("atlas.chat.hub")
_ENCODER = json.JSONEncoder(separators=(",", ":"))


class Subscriber(Protocol):
    id: str
    wallet: str

    def offer(self, event: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self, *, redis_url: str | None, namespace: str) -> None:
        self.origin = uuid.uuid4().hex
        # Each published event is "<origin>|<json>": a process skips its own without parsing them.
        self._prefix = f"{self.origin}|".encode()
        self.channel = f"{namespace}:chat:fanout"
        self._redis_url = redis_url
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._by_wallet: dict[str, set[Subscriber]] = {}
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    # --- local registry ---

    def register(self, sub: Subscriber) -> None:
        self._by_wallet.setdefault(sub.wallet, set()).add(sub)

    def unregister(self, sub: Subscriber) -> None:
        subs = self._by_wallet.get(sub.wallet)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_wallet[sub.wallet]

    def connections(self) -> list[Subscriber]:
        return [s for subs in self._by_wallet.values() for s in subs]

    def dispatch(self, event: dict[str, Any]) -> None:
        skip = event.get("skip")
        for wallet in event["w"]:
            for sub in tuple(self._by_wallet.get(wallet, ())):
                if sub.id != skip:
                    sub.offer(event)

    # --- publishing ---

    async def publish(self, events: Iterable[dict[str, Any]]) -> None:
        """Deliver to this process's sockets now; hand the batch to the Redis sender and return.

        The writer calls this between transactions: waiting here for Redis would add a round trip
        to every write batch's cycle. One sender task publishes the batches in the order given.
        """
        batch = list(events)
        for event in batch:
            self.dispatch(event)
        if self._redis is None or not batch:
            return
        self._outgoing.put_nowait(self._prefix + _ENCODER.encode(batch).encode())
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all(), name="chat-hub-sender")

    async def _send_all(self) -> None:
        while not self._outgoing.empty():
            message = self._outgoing.get_nowait()
            try:
                await self._redis.publish(self.channel, message)
            except Exception as exc:  # Redis down: local delivery happened; others resume from the database
                log.warning("chat_fanout_publish_failed", error=type(exc).__name__)

    async def flush(self) -> None:
        """Wait until every batch handed to :meth:`publish` went to Redis (or failed)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.wait({self._sender})

    # --- lifecycle ---

    async def start(self) -> None:
        if not self._redis_url:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(self._redis_url)
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except Exception as exc:  # start degraded; the listener keeps retrying
            log.warning("chat_fanout_subscribe_failed", error=type(exc).__name__)
        self._listener = asyncio.create_task(self._listen(pubsub), name="chat-hub-listener")

    async def _listen(self, pubsub: Any) -> None:
        delay = 0.2
        while True:
            try:
                if not pubsub.subscribed:
                    await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    delay = 0.2
                    if message.get("type") != "message":
                        continue
                    data: bytes = message["data"]
                    if data.startswith(self._prefix):
                        continue  # our own event, already dispatched locally: skip it unparsed
                    try:
                        decoded = json.loads(data[data.index(b"|") + 1 :])
                    except ValueError:
                        continue
                    for event in decoded if isinstance(decoded, list) else (decoded,):
                        if isinstance(event, dict):
                            self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect with backoff; sockets repair gaps from the database
                log.warning("chat_fanout_listen_failed", error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                with contextlib.suppress(Exception):
                    await pubsub.reset()
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.flush()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()


def message_event(
    *, conversation_id: str, seq: int, server_ts: str, sender: str, peer: str, envelope: dict[str, Any]
) -> dict[str, Any]:
    return {"k": "m", "w": [sender, peer], "c": conversation_id, "s": seq, "t": server_ts, "f": sender, "e": envelope}


def frame_event(wallets: Iterable[str], frame: dict[str, Any], *, skip: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"k": "f", "w": list(wallets), "x": frame}
    if skip is not None:
        event["skip"] = skip
    return event
