"""The application factory: settings → runtime → middleware, error handlers and domain routers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from atlas import __version__
from atlas.config import Settings, get_settings, resolve_secrets
from atlas.db import Database
from atlas.errors import install_error_handlers
from atlas.kit.clock import Clock, SystemClock
from atlas.kit.gctune import tune_for_server
from atlas.limits_mw import RequestGuardMiddleware
from atlas.observability import REGISTRY, ObservabilityMiddleware, configure_logging
from atlas.runtime import Runtime

# Each domain package exposes ``router`` (an APIRouter) in endpoints.py and may expose
# ``install(runtime)`` in a ``component`` module to register background work.
DOMAINS = ("ledger", "events", "auth", "users", "referrals", "points", "coherence", "devices", "chat")


def _domain_modules(suffix: str) -> list[Any]:
    modules = []
    for name in DOMAINS:
        try:
            modules.append(importlib.import_module(f"atlas.{name}.{suffix}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"atlas.{name}.{suffix}" and exc.name != f"atlas.{name}":
                raise
    return modules


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    runtime = Runtime(
        settings=settings,
        secrets=resolve_secrets(settings),
        db=Database(settings.resolved_database_url),
        clock=clock or SystemClock(),
    )
    for module in _domain_modules("component"):
        module.install(runtime)
    return runtime


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, clock)
        app.state.runtime = runtime
        try:
            await runtime.start()
            yield
        finally:
            await runtime.stop()
            await runtime.db.dispose()

    app = FastAPI(
        title="ATLAS × QFS",
        version=__version__,
        summary="Wallet-native end-to-end encrypted messenger with a verifiable Genesis Ledger.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # Metrics and logs are ours (atlas.observability); FastAPI's OpenTelemetry hooks would only
        # cost a provider lookup per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    _install_operations(app)
    for module in _domain_modules("endpoints"):
        app.include_router(module.router)
    _install_web(app)
    app.add_middleware(RequestGuardMiddleware, max_body=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, router_app=app.router)
    return app


def _install_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers. Public.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database reachable (503 if not); Redis problems report 'degraded'. Public.",
        responses={503: {"description": "database unreachable"}},
    )
    async def readyz() -> JSONResponse:
        runtime: Runtime = app.state.runtime
        try:
            await runtime.db.ping()
        except Exception as exc:  # any driver error means "not ready"
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
                status_code=503,
            )
        checks: dict[str, str] = {"database": "ok"}
        degraded = False
        for name, probe in runtime.probes.items():
            try:
                await probe()
                checks[name] = "ok"
            except Exception as exc:  # a failing optional dependency degrades, it does not fail
                checks[name] = f"unreachable ({type(exc).__name__})"
                degraded = True
        return JSONResponse({"status": "degraded" if degraded else "ok", "checks": checks})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics. Public.")
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _install_web(app: FastAPI) -> None:
    from atlas.web import mount_web

    mount_web(app)


def main_app() -> FastAPI:
    """Entry point for ``uvicorn --factory atlas.app:main_app``."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_for_server()
    return app
