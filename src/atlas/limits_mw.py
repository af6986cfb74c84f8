"""Body-size and content-type guards that answer with problems before any handler runs."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atlas.errors import PROBLEM_JSON

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _problem_bytes(status: int, code: str, title: str, detail: str) -> bytes:
    return json.dumps(
        {"type": f"urn:atlas:problem:{code}", "title": title, "status": status, "detail": detail, "code": code}
    ).encode()


class _TooLarge(HTTPException):
    """Raised from ``receive``: FastAPI re-raises HTTPExceptions from body parsing unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body exceeds {limit} bytes.")


class RequestGuardMiddleware:
    """Refuses oversized bodies (by header or while streaming) and non-JSON bodies on JSON routes.

    Paths listed in ``multipart_paths`` (avatar upload) get their own, larger limit and accept
    ``multipart/form-data`` instead of JSON.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        multipart_suffixes: tuple[str, ...] = ("/avatar",),
        multipart_max_body: int = 6 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.multipart_suffixes = multipart_suffixes
        self.multipart_max_body = multipart_max_body

    async def _reply(self, send: Send, status: int, code: str, title: str, detail: str) -> None:
        body = _problem_bytes(status, code, title, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        path: str = scope.get("path", "")
        multipart = path.endswith(self.multipart_suffixes)
        limit = self.multipart_max_body if multipart else self.max_body
        length_raw = headers.get(b"content-length")
        has_body = headers.get(b"transfer-encoding") is not None
        if length_raw is not None:
            try:
                length = int(length_raw)
            except ValueError:
                await self._reply(send, 400, "bad_request", "Bad Request", "Invalid Content-Length header.")
                return
            if length > limit:
                await self._reply(
                    send, 413, "payload_too_large", "Content Too Large", f"The body exceeds {limit} bytes."
                )
                return
            has_body = has_body or length > 0
        if has_body and path.startswith("/v1/"):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            ok = ctype == b"multipart/form-data" if multipart else ctype == b"application/json" or ctype.endswith(b"+json")
            if not ok:
                wanted = "multipart/form-data" if multipart else "application/json"
                await self._reply(
                    send, 415, "unsupported_media_type", "Unsupported Media Type", f"Send the body as {wanted}."
                )
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await self._reply(
                    send, 413, "payload_too_large", "Content Too Large", f"The body exceeds {limit} bytes."
                )
