"""Group commit for the chat hot path.

Sends, ``delivered`` receipts and read markers from every socket and REST call of this process queue
here; one task drains whatever has queued while the previous transaction ran and writes it in one
transaction, then publishes to the hub and answers each caller. Under load the batch grows by itself,
so throughput rises with it instead of stalling on SQLite's single writer or on one PostgreSQL round
trip per message; idle, a lone message commits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

import structlog

from atlas.chat import service
from atlas.chat.envelope import PreparedSend
from atlas.chat.fastpath import ConversationCache, store_messages_unlocked
from atlas.chat.hub import Hub, frame_event, message_event
from atlas.chat.metrics import MESSAGES_STORED
from atlas.chat.ports import DeviceCache, ReferralNotes
from atlas.chat.service import Fanout
from atlas.chat.store import ReceiptOp, StoredMessage, store_delivered, store_messages
from atlas.chat.timefmt import ms_to_rfc3339
from atlas.errors import AtlasError, ServiceUnavailable
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.chat.writer")


@dataclass
class ReadOp:
    wallet: str
    conversation_id: str
    up_to: int
    origin: str | None = None


@dataclass
class _Lane:
    jobs: deque[_Job] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class _Job:
    op: PreparedSend | ReceiptOp | ReadOp
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class ChatWriter:
    """``lanes`` concurrent writers, each owning the conversations that hash to it.

    SQLite has one writer, so one lane. On PostgreSQL several transactions can run at once: while
    one lane waits for a round trip, another works. That raises throughput when the database is the
    bottleneck; when this process's CPU is (the usual case on one box), the extra, smaller batches
    cost more than they save, so the default is one lane (docs/benchmarks.md). A conversation always
    goes to the same lane, so its operations keep their order (a sender's messages get ascending seqs
    in the order they arrived) and two lanes never contend for one conversation's row lock.
    """

    def __init__(self, runtime: Runtime, hub: Hub, *, max_batch: int = 512, lanes: int = 1) -> None:
        self._runtime = runtime
        self._hub = hub
        self._max_batch = max_batch
        self._lanes = [_Lane() for _ in range(max(1, lanes))]
        self._stopping = False
        self._devices = DeviceCache()
        self._referrals = ReferralNotes()
        # PostgreSQL stores most batches in one statement outside a transaction (chat/fastpath.py).
        self._unlocked = runtime.db.write_engine.dialect.name == "postgresql"
        self._heads = ConversationCache()

    def submit(self, op: PreparedSend | ReceiptOp | ReadOp) -> asyncio.Future[Any]:
        """Queue one operation; the future resolves after its transaction committed (or with its error)."""
        if self._stopping:
            raise ServiceUnavailable("the server is shutting down", code="shutting_down")
        job = _Job(op)
        lanes = self._lanes
        lane = lanes[0] if len(lanes) == 1 else lanes[zlib.crc32(op.conversation_id.encode()) % len(lanes)]
        lane.jobs.append(job)
        lane.wake.set()
        return job.future

    async def start(self) -> None:
        for i, lane in enumerate(self._lanes):
            lane.task = asyncio.create_task(self._run(lane), name=f"chat-writer-{i}")

    async def stop(self) -> None:
        self._stopping = True
        for lane in self._lanes:
            lane.wake.set()
        for lane in self._lanes:
            if lane.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task

    async def _run(self, lane: _Lane) -> None:
        jobs = lane.jobs
        while True:
            if not jobs:
                if self._stopping:
                    return
                lane.wake.clear()
                await lane.wake.wait()
                continue
            batch = [jobs.popleft() for _ in range(min(len(jobs), self._max_batch))]
            try:
                await self._process(batch)
            except Exception as exc:  # never let the writer die; fail this batch's callers
                # The type only: driver errors quote statement parameters, i.e. ciphertext and ids.
                log.error("chat_writer_failed", error=type(exc).__name__)
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(ServiceUnavailable("message store unavailable, retry"))

    async def _process(self, batch: list[_Job]) -> None:
        sends: list[_Job] = []
        delivered: list[_Job] = []
        reads: list[_Job] = []
        for job in batch:
            op = job.op
            if isinstance(op, PreparedSend):
                sends.append(job)
            elif isinstance(op, ReceiptOp):
                delivered.append(job)
            else:
                reads.append(job)
        done: list[tuple[_Job, Any]] = []
        if self._unlocked and (sends or delivered):
            # PostgreSQL: one statement each for the sends and the receipts, no transaction; what
            # it leaves (see chat/fastpath.py) joins the reads in the transactional path below.
            try:
                async with self._runtime.db.autocommit() as conn:
                    at = self._runtime.clock.now()
                    sent = (
                        await store_messages_unlocked(
                            conn, [cast(PreparedSend, j.op) for j in sends], at=at, heads=self._heads,
                            device_cache=self._devices, referral_notes=self._referrals,
                        )
                        if sends else []
                    )
                    relayed: list[Any] | None = []
                    if delivered:
                        try:
                            relayed = await store_delivered(conn, [cast(ReceiptOp, j.op) for j in delivered])
                        except Exception:  # the sends are stored: keep them, retry the receipts below
                            relayed = None
            except Exception:
                if len(batch) > 1:
                    for job in batch:  # isolate the culprit, each job on its own
                        await self._process([job])
                    return
                raise
            self._runtime.committed()
            later: list[_Job] = []
            for job, result in zip(sends, sent, strict=True):
                if result is None:
                    later.append(job)
                else:
                    done.append((job, result))
            sends = later
            if relayed is not None:
                done.extend(zip(delivered, relayed, strict=True))
                delivered = []
        if sends or delivered or reads:
            try:
                done.extend(await self._transaction(sends, delivered, reads))
            except Exception:
                rest = [*sends, *delivered, *reads]
                if len(rest) == 1 and not done:
                    raise
                if done:  # what the unlocked path stored is final: deliver it, then retry the rest
                    await self._finish(done)
                for job in rest:  # isolate the culprit, each job on its own
                    await self._process([job])
                return
        await self._finish(done)

    async def _transaction(
        self, sends: list[_Job], delivered: list[_Job], reads: list[_Job]
    ) -> list[tuple[_Job, Any]]:
        runtime = self._runtime
        send_ops = [cast(PreparedSend, j.op) for j in sends]
        async with runtime.db.write() as conn:
            at = runtime.clock.now()
            sent = (
                await store_messages(conn, send_ops, at=at, device_cache=self._devices, referral_notes=self._referrals)
                if send_ops else []
            )
            relayed = await store_delivered(conn, [cast(ReceiptOp, j.op) for j in delivered]) if delivered else []
            read_results: list[Any] = []
            for job in reads:
                op = cast(ReadOp, job.op)
                try:
                    read_results.append(
                        await service.mark_read(
                            conn, wallet=op.wallet, conversation_id=op.conversation_id, up_to=op.up_to,
                            origin=op.origin,
                        )
                    )
                except AtlasError as exc:  # raised before it wrote anything: the batch goes on
                    read_results.append(exc)
        runtime.committed()
        if self._unlocked:
            self._heads.forget({op.conversation_id for op in send_ops})
        return [
            *zip(sends, sent, strict=True), *zip(delivered, relayed, strict=True), *zip(reads, read_results, strict=True)
        ]

    async def _finish(self, done: list[tuple[_Job, Any]]) -> None:
        """Publish to the hub, then answer each caller (a sender's ack follows the fan-out)."""
        events: list[dict[str, Any]] = []
        stored = 0
        for job, result in done:
            if isinstance(result, StoredMessage):
                if result.envelope is not None:
                    stored += 1
                    events.append(
                        message_event(
                            conversation_id=result.conversation_id, seq=result.seq,
                            server_ts=ms_to_rfc3339(result.server_ts_ms), sender=result.sender, peer=result.peer,
                            envelope=result.envelope,
                        )
                    )
            elif isinstance(result, Fanout):
                events.append(frame_event(result.wallets, result.frame, skip=result.skip_connection))
            elif isinstance(job.op, ReadOp) and not isinstance(result, AtlasError):
                fan = result[1]
                events.append(frame_event(fan.wallets, fan.frame, skip=fan.skip_connection))
        MESSAGES_STORED.inc(stored)
        await self._hub.publish(events)
        for job, result in done:
            if job.future.done():
                continue
            if isinstance(result, AtlasError):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
