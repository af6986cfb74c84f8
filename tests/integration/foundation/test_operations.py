"""The operations endpoints and the problem+json error contract (issue: foundation)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from atlas.app import create_app

ROOT = Path(__file__).resolve().parents[3]


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


async def test_metrics_is_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/v1/genesis/entries/0")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert 'atlas_http_requests_total{method="GET",route="/healthz",status="200"}' in resp.text
    assert "atlas_websockets_open" in resp.text
    assert 'route="/v1/genesis/entries/{seq}"' in resp.text


async def test_openapi_is_31_and_matches_committed(client: httpx.AsyncClient) -> None:
    live = (await client.get("/openapi.json")).json()
    assert live["openapi"].startswith("3.1")
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert live == committed, "openapi.json drifted from the app: run `make openapi`"


class _Probe(BaseModel):
    name: str
    count: int


@pytest.fixture
async def probe_client(settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An app with one extra JSON route, so the body checks do not depend on a domain's routes."""
    app = create_app(settings)

    @app.post("/v1/_probe")
    async def probe(body: _Probe) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


def _assert_problem(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    for key in ("type", "title", "status", "detail", "code"):
        assert key in body
    assert body["status"] == status
    assert body["code"] == code


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/v1/no-such-thing", {}, 404, "not_found"),
        ("DELETE", "/healthz", {}, 405, "method_not_allowed"),
        ("POST", "/v1/_probe", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "malformed_json"),
        ("POST", "/v1/_probe", {"content": b"address=1", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ("POST", "/v1/_probe", {"content": b"{}" + b" " * (2 * 1024 * 1024), "headers": {"content-type": "application/json"}}, 413, "payload_too_large"),
    ],
)
async def test_bad_requests_get_problems_never_500(
    probe_client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    resp = await probe_client.request(method, path, **kwargs)  # type: ignore[arg-type]
    _assert_problem(resp, status, code)


async def test_validation_error_lists_fields(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.post("/v1/_probe", json={"name": 5})
    _assert_problem(resp, 422, "validation_error")
    assert [e["field"] for e in resp.json()["errors"]] == ["body.name", "body.count"]


async def test_streamed_oversized_body_is_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(40):
            yield b" " * 65536

    resp = await probe_client.post("/v1/_probe", content=chunks(), headers={"content-type": "application/json"})
    _assert_problem(resp, 413, "payload_too_large")


async def test_unexpected_exception_is_opaque_500(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.get("/boom")
    _assert_problem(resp, 500, "internal_error")
    assert "secret internals" not in resp.text
    assert len(resp.json()["error_id"]) == 32
