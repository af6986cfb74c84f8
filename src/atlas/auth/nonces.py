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
    #: True when nonces live in the database: issuing and spending need a write transaction.
    in_database: bool

    async def issue(self, conn: AsyncConnection | None, issued: list[IssuedNonce]) -> None: ...

    async def spend(
        self, conn: AsyncConnection | None, pairs: list[tuple[str, str]], *, now: datetime
    ) -> list[SpendOutcome]:
        """Spend ``(nonce, address)`` pairs; one outcome per pair, in order. Of several identical
        pairs only the first can be ``ok``."""
        ...


class DatabaseNonceStore:
    """Nonces as rows; one ``UPDATE … WHERE spent_at IS NULL RETURNING`` spends a whole batch."""

    in_database = True

    def __init__(self, sweep_every: float = 60.0) -> None:
        self._sweep_every = sweep_every
        self._last_sweep: datetime | None = None

    async def issue(self, conn: AsyncConnection | None, issued: list[IssuedNonce]) -> None:
        assert conn is not None  # noqa: S101 - in_database stores are always given a connection
        now = max(i.issued_at for i in issued)
        if self._last_sweep is None or (now - self._last_sweep).total_seconds() > self._sweep_every:
            self._last_sweep = now
            # Spent or expired rows are only kept long enough to tell "reused" from "unknown".
            await repository.sweep_nonces(conn, before=now - timedelta(hours=1))
        await repository.insert_nonces(
            conn,
            [
                {
                    "nonce": i.nonce,
                    "address": i.address,
                    "chain": i.chain,
                    "issued_at": i.issued_at,
                    "expires_at": i.expires_at,
                }
                for i in issued
            ],
        )

    async def spend(
        self, conn: AsyncConnection | None, pairs: list[tuple[str, str]], *, now: datetime
    ) -> list[SpendOutcome]:
        assert conn is not None  # noqa: S101 - in_database stores are always given a connection
        spent = await repository.spend_nonces(conn, sorted(set(pairs)), now=now)
        records = await repository.get_nonces(conn, sorted({n for n, _ in pairs if n not in spent}))
        granted: set[str] = set()
        outcomes: list[SpendOutcome] = []
        for nonce, address in pairs:
            if nonce in spent:
                if spent[nonce] != address:
                    outcomes.append("address_mismatch")
                elif nonce in granted:
                    outcomes.append("reused")  # the same message twice in one batch: one wins
                else:
                    granted.add(nonce)
                    outcomes.append("ok")
            else:
                outcomes.append(_classify(records.get(nonce), address, now))
        return outcomes


def _classify(record: repository.NonceRecord | None, address: str, now: datetime) -> SpendOutcome:
    if record is None:
        return "unknown"
    if record.address != address:
        return "address_mismatch"
    if record.spent_at is not None:
        return "reused"
    if as_utc(record.expires_at) <= now:
        return "expired"
    return "unknown"


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

    in_database = False

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:auth:nonce:"
        self._spend = client.register_script(_SPEND_LUA)

    async def issue(self, conn: AsyncConnection | None, issued: list[IssuedNonce]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for i in issued:
                ttl = max(1, int((i.expires_at - i.issued_at).total_seconds()))
                pipe.set(self._prefix + i.nonce, f"{i.address}|{i.chain}|{int(i.issued_at.timestamp())}", ex=ttl)
            await pipe.execute()

    async def spend(
        self, conn: AsyncConnection | None, pairs: list[tuple[str, str]], *, now: datetime
    ) -> list[SpendOutcome]:
        outcomes: list[SpendOutcome] = []
        for nonce, address in pairs:
            key = self._prefix + nonce
            result = await self._spend(keys=[key, key + ":spent"], args=[address, 3600])
            outcome = result.decode() if isinstance(result, bytes) else str(result)
            outcomes.append(outcome if outcome in ("ok", "reused", "address_mismatch") else "unknown")  # type: ignore[arg-type]  # narrowed to the Literal's members
        return outcomes
