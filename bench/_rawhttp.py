"""A minimal HTTP/1.1 keep-alive JSON client for load generation over loopback.

httpx spends ~1 ms of CPU per request; driving a server that answers in a few hundred microseconds
from one client core, it saturates first and the benchmark ends up measuring the client (and an
under-loaded server, which batches less and so spends more per request). This client does only
what a benchmark needs: one connection per worker, ``Content-Length`` bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RawHttp:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def connect(cls, host: str, port: int) -> RawHttp:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post_json(self, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body, separators=(",", ":")).encode()
        self._writer.write(
            f"POST {path} HTTP/1.1\r\nhost: {self._host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        status, payload = await self._response()
        return status, json.loads(payload) if payload else None

    async def get_text(self, path: str) -> tuple[int, str]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nhost: {self._host}\r\n\r\n".encode())
        status, payload = await self._response()
        return status, payload.decode()

    async def _response(self) -> tuple[int, bytes]:
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length) if length else b""

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
