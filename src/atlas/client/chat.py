"""Chat client SDK: REST calls and the WebSocket gateway (CONTRACT §2 and §4), for tests, bots and
the benchmark.

    api = ChatApi(http, signed_in.headers)
    convo = await api.start(peer_wallet)
    sock = await ChatSocket.connect("http://127.0.0.1:8000", signed_in.access_token, device.device_id)
    ack = await sock.send(convo["id"], envelope)          # {"type": "ack", "seq": …}
    frame = await sock.next("message")                    # a message for this device
    await sock.receipt(convo["id"], "delivered", frame["seq"])
    ...
    sock2 = await ChatSocket.connect(url, token, device_id, resume=sock.last_seq)

Envelopes are opaque here: build them with ``atlas.client.e2e.api.build_envelope`` (real end-to-end
encryption) or :func:`make_envelope` (any bytes, e.g. in benchmarks). The token travels only in the
``auth`` frame, never in the URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import httpx


class ChatError(Exception):
    """A problem from the REST API, or an ``error`` frame from the socket."""

    def __init__(self, code: str, detail: str = "", *, status: int | None = None, body: dict[str, Any] | None = None) -> None:
        self.code = code
        self.detail = detail
        self.status = status
        self.body = body or {}
        super().__init__(f"{status or 'ws'} {code}: {detail}")


def make_envelope(
    sender_device: str, bodies: Mapping[str, bytes], *, kind: str = "message", client_msg_id: str | None = None
) -> dict[str, Any]:
    """An envelope from ready-made ciphertexts (``{device_id: bytes}``)."""
    return {
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "sender_device": sender_device,
        "payloads": [
            {"device_id": device_id, "kind": kind, "body": base64.b64encode(body).decode()}
            for device_id, body in bodies.items()
        ],
    }


def _ws_url(base_url: str) -> str:
    url = base_url.rstrip("/")
    if url.startswith("http://"):
        url = "ws://" + url[len("http://"):]
    elif url.startswith("https://"):
        url = "wss://" + url[len("https://"):]
    return url if url.endswith("/v1/ws") else url + "/v1/ws"


class ChatApi:
    """The REST half, over one ``httpx.AsyncClient`` with the caller's bearer headers."""

    def __init__(self, http: httpx.AsyncClient, headers: Mapping[str, str]) -> None:
        self.http = http
        self.headers = dict(headers)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        resp = await self.http.request(method, path, headers=self.headers, **kwargs)
        body: dict[str, Any] = resp.json() if resp.content else {}
        if resp.status_code >= 400:
            raise ChatError(str(body.get("code", "http_error")), str(body.get("detail", "")), status=resp.status_code, body=body)
        return body

    async def start(self, peer: str) -> dict[str, Any]:
        return await self._call("POST", "/v1/conversations", json={"peer": peer})

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/conversations/{conversation_id}")

    async def accept(self, conversation_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/conversations/{conversation_id}/accept")

    async def block(self, conversation_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/conversations/{conversation_id}/block")

    async def inbox(
        self,
        *,
        q: str | None = None,
        cursor: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        device_id: str | None = None,
    ) -> dict[str, Any]:
        params = {k: v for k, v in (("q", q), ("cursor", cursor), ("state", state), ("limit", limit), ("device_id", device_id)) if v is not None}
        return await self._call("GET", "/v1/conversations", params=params)

    async def messages(
        self, conversation_id: str, *, before: int | None = None, limit: int | None = None, device_id: str | None = None
    ) -> dict[str, Any]:
        params = {k: v for k, v in (("before", before), ("limit", limit), ("device_id", device_id)) if v is not None}
        return await self._call("GET", f"/v1/conversations/{conversation_id}/messages", params=params)

    async def send(self, conversation_id: str, envelope: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"/v1/conversations/{conversation_id}/messages", json=dict(envelope))

    async def read(self, conversation_id: str, up_to: int) -> dict[str, Any]:
        return await self._call("POST", f"/v1/conversations/{conversation_id}/read", json={"up_to": up_to})


class ChatSocket:
    """One authenticated device socket. Acks resolve :meth:`send`; every other frame is queued for
    :meth:`next`. ``last_seq`` (highest message seq seen per conversation) is the resume point."""

    def __init__(self, ws: Any, *, auto_delivered: bool = False) -> None:
        self.ws = ws
        self.auto_delivered = auto_delivered
        self.ready: dict[str, Any] = {}
        self.last_seq: dict[str, int] = {}
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        base_url: str,
        token: str,
        device_id: str,
        *,
        resume: Mapping[str, int] | None = None,
        auto_delivered: bool = False,
        timeout: float = 10.0,
        max_size: int | None = 2**24,
        compression: str | None = None,
    ) -> ChatSocket:
        """Open, authenticate, and wait for ``ready`` (raises :class:`ChatError` if refused).

        ``compression`` defaults to off: payloads are ciphertext, which permessage-deflate cannot
        shrink, while it costs both ends CPU and a compressor's memory per connection."""
        from websockets.asyncio.client import connect

        ws = await connect(
            _ws_url(base_url), open_timeout=timeout, max_size=max_size, ping_interval=None, compression=compression
        )
        sock = cls(ws, auto_delivered=auto_delivered)
        frame: dict[str, Any] = {"type": "auth", "token": token, "device_id": device_id}
        if resume:
            frame["resume"] = dict(resume)
        await ws.send(json.dumps(frame))
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if first.get("type") != "ready":
            with contextlib.suppress(Exception):
                await ws.close()
            raise ChatError(str(first.get("code", "refused")), str(first.get("detail", "")))
        sock.ready = first
        sock._reader = asyncio.create_task(sock._read())
        return sock

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    fut = self._pending.pop(frame.get("client_msg_id", ""), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                    continue
                if kind == "error":
                    fut = self._pending.pop(frame.get("client_msg_id", ""), None)
                    if fut is not None and not fut.done():
                        fut.set_exception(ChatError(frame.get("code", "error"), frame.get("detail", ""), body=frame))
                        continue
                if kind == "message":
                    cid, seq = frame["conversation_id"], frame["seq"]
                    if seq > self.last_seq.get(cid, 0):
                        self.last_seq[cid] = seq
                    if self.auto_delivered:
                        await self.receipt(cid, "delivered", seq)
                await self.frames.put(frame)
        except ConnectionClosed:
            pass
        finally:
            rcvd = getattr(self.ws, "close_code", None)
            reason = getattr(self.ws, "close_reason", None) or ""
            if not self.closed.done():
                self.closed.set_result((rcvd, reason))
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ChatError("closed", "the socket closed before the ack"))
            self._pending.clear()

    # --- sending ---

    async def send_frame(self, frame: Mapping[str, Any]) -> None:
        await self.ws.send(json.dumps(frame, separators=(",", ":")))

    async def submit(self, conversation_id: str, envelope: Mapping[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Send without waiting: the future resolves with the ack (or fails with the error frame)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[str(envelope["client_msg_id"]).lower()] = fut
        await self.send_frame({"type": "send", "conversation_id": conversation_id, "envelope": dict(envelope)})
        return fut

    async def send(self, conversation_id: str, envelope: Mapping[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(await self.submit(conversation_id, envelope), timeout)

    async def receipt(self, conversation_id: str, kind: str, up_to: int) -> None:
        await self.send_frame({"type": "receipt", "conversation_id": conversation_id, "kind": kind, "up_to": up_to})

    async def typing(self, conversation_id: str, state: str = "start") -> None:
        await self.send_frame({"type": "typing", "conversation_id": conversation_id, "state": state})

    async def ping(self) -> None:
        await self.send_frame({"type": "ping"})

    # --- receiving ---

    async def next(self, types: str | Iterable[str] | None = None, *, timeout: float = 5.0) -> dict[str, Any]:
        """The next queued frame (of ``types``, discarding others); TimeoutError if none arrives."""
        wanted = {types} if isinstance(types, str) else set(types) if types is not None else None

        async def pick() -> dict[str, Any]:
            while True:
                frame = await self.frames.get()
                if wanted is None or frame.get("type") in wanted:
                    return frame

        return await asyncio.wait_for(pick(), timeout)

    async def collect(self, count: int, types: str | Iterable[str] | None = "message", *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """``count`` frames of ``types`` in arrival order."""
        out: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(out) < count:
            out.append(await self.next(types, timeout=max(0.01, deadline - loop.time())))
        return out

    async def quiet(self, types: str | Iterable[str] | None = "message", *, wait: float = 0.3) -> list[dict[str, Any]]:
        """Whatever frames of ``types`` arrive within ``wait`` seconds (to assert that nothing does)."""
        out: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            while True:
                out.append(await self.next(types, timeout=wait))
        return out

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._reader
