"""Structured logs, Prometheus metrics and the request id, as one pure-ASGI middleware.

Logs carry the method, the route template, status and latency, never headers or bodies: tokens,
keys and message content therefore cannot reach a log line through this path.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "atlas_http_requests_total", "HTTP requests by route template", ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "atlas_http_request_duration_seconds", "HTTP latency by route template", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
WS_OPEN = Gauge("atlas_websockets_open", "Open WebSocket connections", registry=REGISTRY)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("atlas.http")


def _route_template(app: Any, scope: Scope) -> str:
    # The router records the route it dispatched to in the scope; label by its template, never the raw
    # path (which would carry wallets and ids into metric labels).
    matched = scope.get("route")
    if matched is not None and getattr(matched, "path", None):
        return str(matched.path)
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, router_app: Any) -> None:
        self.app = app
        self.router_app = router_app
        # prometheus_client's labels() takes a lock and builds a key on every call; the label sets
        # are few (method x route template x status), so their children are kept here.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
                request_id = value.decode()
                break
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(self.router_app, scope)
            method = scope.get("method", "")
            series = self._series.get((method, route, status))
            if series is None:
                series = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
                if len(self._series) < 10_000:  # bounded: route templates only, never raw paths
                    self._series[(method, route, status)] = series
            series[0].inc()
            series[1].observe(elapsed)
            if route not in ("/metrics", "/healthz"):
                log.info("request", method=method, route=route, status=status, ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("request_id")
