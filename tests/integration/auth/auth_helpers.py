"""Helpers for the auth tests: raw challenge/sign/connect steps and database peeks."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from sqlalchemy import func, select

from atlas.auth.siwe import SiweMessage, parse_siwe_message
from atlas.auth.tables import auth_sessions
from atlas.client.auth import sign_evm


class Flow:
    """One test's view of the sign-in endpoints."""

    def __init__(self, http: httpx.AsyncClient, app: Any) -> None:
        self.http = http
        self.app = app

    async def challenge(self, account: Any, **extra: Any) -> dict[str, Any]:
        resp = await self.http.post("/v1/auth/challenge", json={"address": account.address, **extra})
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def connect(self, message: str, signature: str, **extra: Any) -> httpx.Response:
        return await self.http.post(
            "/v1/auth/connect-wallet", json={"message": message, "signature": signature, **extra}
        )

    async def signed(self, account: Any, signer: Any = None, **changes: Any) -> tuple[str, str]:
        """A fresh challenge for ``account``, optionally altered, signed by ``signer`` (default: account)."""
        text = (await self.challenge(account))["message"]
        if changes:
            message: SiweMessage = dataclasses.replace(parse_siwe_message(text), **changes)
            text = message.to_text()
        return text, sign_evm(signer or account, text)

    async def session_count(self) -> int:
        async with self.app.state.runtime.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(auth_sessions))).scalar_one())


def assert_rejected(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code, body
    assert "access_token" not in body
    assert "refresh_token" not in body
