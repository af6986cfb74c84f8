"""/readyz answers 503 when the database is unreachable, and never a 500."""

from __future__ import annotations

import httpx

from atlas.app import create_app


async def test_readyz_503_when_database_unreachable(make_settings) -> None:  # type: ignore[no-untyped-def]
    # A port nothing listens on: the ping fails fast.
    settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        resp = await http.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["database"] == "unreachable"
        assert (await http.get("/healthz")).status_code == 200
