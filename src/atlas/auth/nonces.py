"""Single-use sign-in nonces: in the database (embedded mode) or in Redis (when configured).

Either way a nonce is bound to the account it was issued for, expires with the challenge, and is
spent by one atomic operation, so that a message and signature replayed — even concurrently — yield
at most one session. A nonce is spent only by a message whose signature already verified, so a
stranger cannot burn someone else's challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth import repository
from atlas.auth.deps import as_utc

SpendOutcome = Literal["ok", "unknown", "reused", "expired", "address_mismatch"]


@dataclass(frozen=True)
class IssuedNonce:
    nonce: str
    address: str
    chain: str
    issued_at: datetime
    expires_at: datetime


class NonceStore(Protocol):
    async def issue(self, conn: AsyncConnection, issued: IssuedNonce) -> None: ...

    async def spend(self, conn: AsyncConnection, *, nonce: str, address: str, now: datetime) -> SpendOutcome: ...

    async def close(self) -> None: ...


class DatabaseNonceStore:
    """Nonces as rows; ``UPDATE … WHERE spent_at IS NULL`` is the atomic spend."""

    def __init__(self, sweep_every: float = 60.0) -> None:
        self._sweep_every = sweep_every
        self._last_sweep: datetime | None = None

    async def issue(self, conn: AsyncConnection, issued: IssuedNonce) -> None:
        now = issued.issued_at
        if self._last_sweep is None or (now - self._last_sweep).total_seconds() > self._sweep_every:
            self._last_sweep = now
            # Spent or expired rows are only kept long enough to tell "reused" from "unknown".
            await repository.sweep_nonces(conn, before=now - timedelta(hours=1))
        await repository.insert_nonce(
            conn,
            nonce=issued.nonce,
            address=issued.address,
            chain=issued.chain,
            issued_at=issued.issued_at,
            expires_at=issued.expires_at,
        )

    async def spend(self, conn: AsyncConnection, *, nonce: str, address: str, now: datetime) -> SpendOutcome:
        if await repository.spend_nonce(conn, nonce=nonce, address=address, now=now):
            return "ok"
        record = await repository.get_nonce(conn, nonce)
        if record is None:
            return "unknown"
        if record.address != address:
            return "address_mismatch"
        if record.spent_at is not None:
            return "reused"
        if as_utc(record.expires_at) <= now:
            return "expired"
        return "unknown"

    async def close(self) -> None:
        return None


# KEYS[1] = nonce key, KEYS[2] = spent marker; ARGV[1] = address, ARGV[2] = marker TTL (s).
_SPEND_LUA = """
local v = redis.call('GET', KEYS[1])
if not v then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 'reused' end
  return 'unknown'
end
local bar = string.find(v, '|', 1, true)
if not bar or string.sub(v, 1, bar - 1) ~= ARGV[1] then return 'address_mismatch' end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[2]))
return 'ok'
"""


class RedisNonceStore:
    """Nonces as Redis keys with a TTL; a Lua script checks the address and deletes atomically."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:auth:nonce:"
        self._spend = client.register_script(_SPEND_LUA)

    async def issue(self, conn: AsyncConnection, issued: IssuedNonce) -> None:
        ttl = max(1, int((issued.expires_at - issued.issued_at).total_seconds()))
        value = f"{issued.address}|{issued.chain}|{int(issued.issued_at.timestamp())}"
        await self._redis.set(self._prefix + issued.nonce, value, ex=ttl)

    async def spend(self, conn: AsyncConnection, *, nonce: str, address: str, now: datetime) -> SpendOutcome:
        key = self._prefix + nonce
        result = await self._spend(keys=[key, key + ":spent"], args=[address, 3600])
        outcome = result.decode() if isinstance(result, bytes) else str(result)
        if outcome in ("ok", "unknown", "reused", "address_mismatch"):
            return outcome  # type: ignore[return-value]  # checked against the Literal's members
        return "unknown"

    async def close(self) -> None:
        return None
