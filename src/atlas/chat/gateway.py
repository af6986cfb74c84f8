"""The WebSocket gateway ``GET /v1/ws`` (CONTRACT §4).

One :class:`Connection` per socket: the receive loop (the endpoint's coroutine) parses frames; a
pump task owns every write — ``ready``, then the device's backlog, then live events — so frames to
one socket are ordered, and a bounded queue sits in front of it: a client too slow to drain its
queue is disconnected instead of slowing the hub or anyone else.

Per conversation a connection remembers the highest seq it delivered. Live events at or below it
are duplicates (of the backlog) and dropped; an event that skips seqs this device should have seen
(another process published out of order, or the hub lost an event) is repaired from the database,
which already holds every seq up to the one being delivered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections import deque
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from atlas.chat import ports, service
from atlas.chat import repository as repo
from atlas.chat.envelope import PreparedSend, parse_send_frame, prepare_send, prepare_send_parsed
from atlas.chat.errors import InvalidFrame, UnknownSenderDevice
from atlas.chat.hub import Hub, frame_event
from atlas.chat.metrics import MESSAGES_DELIVERED, SLOW_DISCONNECTS
from atlas.chat.schemas import AuthFrame, ReceiptFrame, SendFrame, TypingFrame
from atlas.chat.store import ReceiptOp, StoredMessage
from atlas.chat.timefmt import ms_to_rfc3339
from atlas.chat.writer import ChatWriter, ReadOp
from atlas.errors import AtlasError
from atlas.observability import WS_OPEN
from atlas.runtime import Runtime

log = structlog.get_logger("atlas.chat")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEVICE = 4403
CLOSE_SLOW = 4008
CLOSE_RESTART = 1012
CLOSE_INTERNAL = 1011
BACKLOG_PAGE = 500
GAP_SCAN_LIMIT = 64
MAX_IN_FLIGHT = 256
MAX_RESUME = 5000
TYPING_BURST = 5  # typing frames per conversation per TYPING_WINDOW seconds
TYPING_WINDOW = 5.0

_CLOSE = object()


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # one instance: json.dumps(**kwargs) builds one per call
# The C string encoder behind the encoder above: a str value as its quoted JSON text.
_quote = json.encoder.encode_basestring_ascii


def _dumps(frame: dict[str, Any]) -> str:
    return _ENCODER.encode(frame)


def _message_text(cid: str, seq: int, server_ts: str, sender: str, envelope: dict[str, Any], payload: dict[str, Any]) -> str:
    """``_dumps`` of a ``message`` frame carrying one payload, built from its parts: the bytes are
    the same (a unit test holds them together) without building and walking the nested dicts."""
    q = _quote
    return (
        f'{{"type":"message","conversation_id":{q(cid)},"seq":{seq},"server_ts":{q(server_ts)},'
        f'"sender":{q(sender)},"envelope":{{"client_msg_id":{q(envelope["client_msg_id"])},'
        f'"sender_device":{q(envelope["sender_device"])},"payloads":[{_ENCODER.encode(payload)}]}}}}'
    )


def _ack_text(stored: StoredMessage) -> str:
    """``_dumps`` of the ``ack`` frame of a stored message (same bytes, see ``_message_text``)."""
    q = _quote
    return (
        f'{{"type":"ack","client_msg_id":{q(stored.client_msg_id)},"conversation_id":{q(stored.conversation_id)},'
        f'"seq":{stored.seq},"server_ts":{q(ms_to_rfc3339(stored.server_ts_ms))},'
        f'"duplicate":{"true" if stored.duplicate else "false"}}}'
    )


def _error(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail, **extra}


class Connection:
    def __init__(self, ws: WebSocket, runtime: Runtime, *, wallet: str, device_id: str, queue_size: int) -> None:
        self.id = uuid.uuid4().hex
        self.ws = ws
        self.runtime = runtime
        self.wallet = wallet
        self.device_id = device_id
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self.delivered: dict[str, int] = {}
        self.skipped: dict[str, set[int]] = {}
        self.closed = False
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.typing_log: dict[str, deque[float]] = {}
        self.member_cache: dict[str, tuple[float, str, str]] = {}  # cid -> (checked_at, peer, state)
        self.session_id = ""

    # --- producer side (hub, receive loop) ---

    def offer(self, event: Any) -> None:
        if self.closed:
            return
        if event["k"] == "m":
            device_id = self.device_id
            if not any(p["device_id"] == device_id for p in event["e"]["payloads"]):
                # Not addressed to this device (e.g. its own send): note the seq as skipped now,
                # so the gap check of a later message knows it, without a trip through the queue.
                # Only the pump reads the set, and only to tell skipped seqs from missing ones.
                self.skipped.setdefault(event["c"], set()).add(event["s"])
                return
        self._enqueue(event)

    def _enqueue(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.closed = True
            SLOW_DISCONNECTS.inc()
            asyncio.get_running_loop().create_task(self._close(CLOSE_SLOW, "slow consumer"))

    def reply(self, frame: dict[str, Any]) -> None:
        self._enqueue({"k": "raw", "x": frame})

    def reply_text(self, text: str) -> None:
        """A frame already serialised (the ack): the pump writes it as it is."""
        self._enqueue(text)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.close(code=code, reason=reason)

    def shutdown(self, code: int = CLOSE_RESTART, reason: str = "server restarting") -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(_CLOSE)
        asyncio.get_running_loop().create_task(self._close(code, reason))

    # --- consumer side: the only writer of this socket ---

    async def pump(self) -> None:
        try:
            await self.ws.send_text(_dumps({"type": "ready", "wallet": self.wallet, "device_id": self.device_id}))
            await self._backlog()
            while True:
                event = await self.queue.get()
                if event is _CLOSE:
                    return
                if type(event) is str:
                    await self.ws.send_text(event)
                    continue
                kind = event["k"]
                if kind == "m":
                    await self._deliver_live(event)
                else:
                    await self.ws.send_text(_dumps(event["x"]))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket went away; the receive loop cleans up
        except Exception:  # e.g. the database failed mid-backlog: let the client reconnect and resume
            self.closed = True
            await self._close(CLOSE_INTERNAL, "delivery failed; reconnect")

    async def _send_row(self, row: Any) -> None:
        frame = {
            "type": "message",
            "conversation_id": row.conversation_id,
            "seq": row.seq,
            "server_ts": ms_to_rfc3339(row.server_ts_ms),
            "sender": row.sender,
            "envelope": {
                "client_msg_id": row.client_msg_id,
                "sender_device": row.sender_device,
                "payloads": [{"device_id": self.device_id, "kind": row.kind, "body": base64.b64encode(row.body).decode()}],
            },
        }
        await self.ws.send_text(_dumps(frame))
        MESSAGES_DELIVERED.inc()
        if row.seq > self.delivered.get(row.conversation_id, 0):
            self.delivered[row.conversation_id] = row.seq

    async def _backlog(self) -> None:
        after: tuple[str, int] | None = None
        while True:
            async with self.runtime.db.read() as conn:
                rows = await repo.device_backlog(conn, self.device_id, after=after, limit=BACKLOG_PAGE)
            for row in rows:
                await self._send_row(row)
            if len(rows) < BACKLOG_PAGE:
                return
            after = (rows[-1].conversation_id, rows[-1].seq)

    async def _deliver_live(self, event: dict[str, Any]) -> None:
        cid: str = event["c"]
        seq: int = event["s"]
        last = self.delivered.get(cid, 0)
        if seq <= last:
            return  # already delivered (from the backlog or a repair)
        envelope: dict[str, Any] = event["e"]
        device_id = self.device_id
        payload = next((p for p in envelope["payloads"] if p["device_id"] == device_id), None)
        if payload is None:
            self.skipped.setdefault(cid, set()).add(seq)  # not addressed to this device
            return
        skipped = self.skipped.get(cid, set())
        if seq - last > 1 and (seq - last > GAP_SCAN_LIMIT or any(s not in skipped for s in range(last + 1, seq))):
            async with self.runtime.db.read() as conn:
                rows = await repo.device_range(conn, self.device_id, cid, after=last, up_to=seq - 1)
            for row in rows:
                await self._send_row(row)
        await self.ws.send_text(_message_text(cid, seq, event["t"], event["f"], envelope, payload))
        MESSAGES_DELIVERED.inc()
        self.delivered[cid] = seq
        if skipped:
            self.skipped[cid] = {s for s in skipped if s > seq}


class Gateway:
    def __init__(self, runtime: Runtime, hub: Hub, writer: ChatWriter) -> None:
        self.runtime = runtime
        self.hub = hub
        self.writer = writer
        self.connections: set[Connection] = set()
        self._watcher: asyncio.Task[None] | None = None

    async def shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for conn in list(self.connections):
            conn.shutdown()
        await asyncio.sleep(0)

    async def check_sessions(self) -> int:
        """Close every socket whose session was signed out, revoked or has expired; return how many.

        A socket authenticates once, so logout or revocation (in any process) would otherwise leave it
        receiving; one batched query per round covers all of this process's sockets.
        """
        open_conns = [c for c in self.connections if not c.closed]
        if not open_conns:
            return 0
        async with self.runtime.db.read() as db:
            live = await ports.live_sessions(
                db, sorted({c.session_id for c in open_conns}), now=self.runtime.clock.now()
            )
        ended = [c for c in open_conns if c.session_id not in live]
        for conn in ended:
            conn.shutdown(CLOSE_UNAUTHENTICATED, "session_revoked")
        return len(ended)

    async def _watch_sessions(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.chat_session_check_seconds)
            try:
                await self.check_sessions()
            except Exception as exc:  # the database may be briefly away: check again next round
                log.warning("session_check_failed", error=type(exc).__name__)

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        settings = self.runtime.settings
        try:
            first = await asyncio.wait_for(ws.receive(), timeout=settings.chat_auth_timeout_seconds)
        except TimeoutError:
            await self._refuse(ws, "auth_timeout", "send the auth frame first, within the time limit")
            return
        except (WebSocketDisconnect, RuntimeError):
            return
        if first["type"] == "websocket.disconnect":
            return
        try:
            auth = AuthFrame.model_validate_json(first.get("text") or "")
        except ValidationError:
            await self._refuse(ws, "unauthorized", "the first frame must be a valid auth frame")
            return
        try:
            wallet, session_id = await self._authenticate(auth.token)
        except AtlasError as exc:
            await self._refuse(ws, exc.instance_code, exc.detail)
            return
        except Exception:  # the session store is unreachable: not the client's fault, it may retry
            await self._refuse(ws, "service_unavailable", "try again shortly", close_code=CLOSE_INTERNAL)
            return
        conn = Connection(ws, self.runtime, wallet=wallet, device_id=auth.device_id, queue_size=settings.chat_send_queue)
        conn.session_id = session_id
        try:
            await self._prepare_device(wallet, auth)
            async with self.runtime.db.read() as db:
                conn.delivered = await repo.device_cursor_map(db, auth.device_id)
        except AtlasError as exc:
            await self._refuse(ws, exc.instance_code, exc.detail, close_code=CLOSE_DEVICE)
            return
        except Exception:
            await self._refuse(ws, "service_unavailable", "try again shortly", close_code=CLOSE_INTERNAL)
            return
        self.hub.register(conn)
        self.connections.add(conn)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch_sessions(), name="chat-session-watch")
        WS_OPEN.inc()
        pump = asyncio.create_task(conn.pump(), name="chat-pump")
        try:
            await self._receive_loop(conn)
        finally:
            conn.closed = True
            self.hub.unregister(conn)
            self.connections.discard(conn)
            WS_OPEN.dec()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    async def _refuse(self, ws: WebSocket, code: str, detail: str, *, close_code: int = CLOSE_UNAUTHENTICATED) -> None:
        with contextlib.suppress(Exception):
            await ws.send_text(_dumps(_error(code, detail)))
            await ws.close(code=close_code, reason=code)

    async def _authenticate(self, token: str) -> tuple[str, str]:
        from atlas.auth.deps import authenticate_access_token

        context = await authenticate_access_token(self.runtime, token)
        return str(context.wallet), str(context.session_id)

    async def _prepare_device(self, wallet: str, auth: AuthFrame) -> None:
        """The device must be one of the wallet's active devices; a resume point becomes its cursor."""
        async with self.runtime.db.read() as conn:
            if auth.device_id not in await ports.active_devices(conn, wallet):
                raise UnknownSenderDevice("device_id is not one of this account's active devices", code="unknown_device")
        if not auth.resume:
            return
        if len(auth.resume) > MAX_RESUME:
            raise InvalidFrame(f"resume names at most {MAX_RESUME} conversations", code="resume_too_large")
        wanted: dict[str, int] = {}
        for cid, seq in auth.resume.items():
            try:
                wanted[str(uuid.UUID(cid))] = seq
            except ValueError:
                raise InvalidFrame(f"resume key {cid!r} is not a conversation id") from None
        async with self.runtime.db.write() as conn:
            rows = await repo.conversations_by_ids(conn, wanted)
            cursor_rows = [
                {"device_id": auth.device_id, "conversation_id": cid, "delivered_up_to": min(seq, row.last_seq)}
                for cid, seq in sorted(wanted.items())
                if (row := rows.get(cid)) is not None and wallet in (row.wallet_a, row.wallet_b)
            ]
            await repo.upsert_cursors(conn, cursor_rows, monotonic=False)

    async def _receive_loop(self, conn: Connection) -> None:
        ws = conn.ws
        limit = self.runtime.settings.chat_max_envelope_bytes * 2 + 4096
        while True:
            try:
                message = await ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                conn.reply(_error("invalid_frame", "frames are JSON text"))
                continue
            if len(text) > limit:
                conn.reply(_error("envelope_too_large", "frame too large"))
                continue
            try:
                frame = json.loads(text)
            except ValueError:
                conn.reply(_error("invalid_frame", "frames are JSON objects"))
                continue
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                conn.reply(_error("invalid_frame", "frames are JSON objects with a string type"))
                continue
            try:
                await self._handle(conn, frame)
            except AtlasError as exc:
                conn.reply(_error(exc.instance_code, exc.detail, **_correlation(frame), **exc.extra))
            except ValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()) or "frame"
                conn.reply(_error("invalid_frame", f"invalid {frame['type']} frame: {fields}", **_correlation(frame)))
            except Exception:  # e.g. the database briefly unreachable: refuse this frame, keep the socket
                conn.reply(_error("internal_error", "the frame could not be handled; retry", **_correlation(frame)))

    async def _handle(self, conn: Connection, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "send":
            await self._on_send(conn, frame)
        elif kind == "receipt":
            self._on_receipt(conn, ReceiptFrame.model_validate(frame))
        elif kind == "typing":
            await self._on_typing(conn, TypingFrame.model_validate(frame))
        elif kind == "ping":
            conn.reply({"type": "pong"})
        elif kind == "auth":
            raise InvalidFrame("already authenticated", code="already_authenticated")
        else:
            raise InvalidFrame(f"unknown frame type {kind[:32]!r}")

    async def _on_send(self, conn: Connection, frame: dict[str, Any]) -> None:
        settings = self.runtime.settings
        max_bytes, max_devices = settings.chat_max_envelope_bytes, settings.chat_max_payload_devices
        parsed = parse_send_frame(frame)
        prepared: PreparedSend
        if parsed is not None:  # the common, well-formed frame: no pydantic models on the hot path
            if parsed[2] != conn.device_id:
                raise UnknownSenderDevice("sender_device must be this socket's device")
            prepared = prepare_send_parsed(parsed[0], conn.wallet, parsed, max_bytes=max_bytes, max_devices=max_devices)
        else:  # anything unusual: the schema accepts it or refuses it with its usual error
            model = SendFrame.model_validate(frame)
            if model.envelope.sender_device != conn.device_id:
                raise UnknownSenderDevice("sender_device must be this socket's device")
            prepared = prepare_send(
                model.conversation_id, conn.wallet, model.envelope, max_bytes=max_bytes, max_devices=max_devices
            )
        await conn.in_flight.acquire()
        try:
            future = self.writer.submit(prepared)
        except AtlasError:
            conn.in_flight.release()
            raise

        def done(fut: asyncio.Future[Any]) -> None:
            conn.in_flight.release()
            exc = fut.exception()
            if exc is not None:
                correlation = {"conversation_id": prepared.conversation_id, "client_msg_id": prepared.client_msg_id}
                if isinstance(exc, AtlasError):
                    conn.reply(_error(exc.instance_code, exc.detail, **correlation, **exc.extra))
                else:
                    conn.reply(_error("internal_error", "the message was not stored", **correlation))
                return
            conn.reply_text(_ack_text(fut.result()))

        future.add_done_callback(done)

    def _on_receipt(self, conn: Connection, frame: ReceiptFrame) -> None:
        op: ReceiptOp | ReadOp
        if frame.kind == "delivered":
            op = ReceiptOp(wallet=conn.wallet, device_id=conn.device_id, conversation_id=frame.conversation_id, up_to=frame.up_to)
        else:
            op = ReadOp(wallet=conn.wallet, conversation_id=frame.conversation_id, up_to=frame.up_to, origin=None)
        future = self.writer.submit(op)
        correlation = {"conversation_id": frame.conversation_id}

        def done(fut: asyncio.Future[Any]) -> None:
            exc = fut.exception()
            if exc is not None:
                code = exc.instance_code if isinstance(exc, AtlasError) else "internal_error"
                conn.reply(_error(code, str(exc), **correlation))

        future.add_done_callback(done)

    async def _on_typing(self, conn: Connection, frame: TypingFrame) -> None:
        """Ephemeral: relayed to the peer's connected devices, never stored and never logged."""
        now = time.monotonic()
        stamps = conn.typing_log.setdefault(frame.conversation_id, deque())
        while stamps and now - stamps[0] > TYPING_WINDOW:
            stamps.popleft()
        if len(stamps) >= TYPING_BURST:
            raise InvalidFrame("too many typing frames", code="rate_limited")
        stamps.append(now)
        cached = conn.member_cache.get(frame.conversation_id)
        # Only an "accepted" state is reused: a request accepted a moment ago must not keep
        # swallowing typing frames until the cache entry ages out.
        if cached is None or cached[2] != "accepted" or now - cached[0] > 2.0:
            async with self.runtime.db.read() as db:
                row = await service.member_conversation(db, conn.wallet, frame.conversation_id)
            peer = row.wallet_b if row.wallet_a == conn.wallet else row.wallet_a
            cached = (now, peer, row.state)
            conn.member_cache[frame.conversation_id] = cached
        _, peer, state = cached
        if state != "accepted":
            return  # no typing indicators into requests or blocked conversations
        out = {
            "type": "typing",
            "conversation_id": frame.conversation_id,
            "from": conn.wallet,
            "state": frame.state,
            "expires_in": self.runtime.settings.chat_typing_ttl_seconds,
        }
        await self.hub.publish([frame_event((peer,), out)])


def _correlation(frame: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cid = frame.get("conversation_id")
    if isinstance(cid, str) and len(cid) <= 64:
        out["conversation_id"] = cid
    envelope = frame.get("envelope")
    if isinstance(envelope, dict):
        cmid = envelope.get("client_msg_id")
        if isinstance(cmid, str) and len(cmid) <= 64:
            out["client_msg_id"] = cmid
    return out
