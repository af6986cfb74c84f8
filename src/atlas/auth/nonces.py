"""Single-use sign-in nonces: signed when issued, recorded when spent.

A challenge writes nothing. Its nonce carries its own proof of issue: 96 random bits, the expiry,
a MAC over both (``issued``) and a MAC over the random part and the account it was issued for
(``bound``), all under a key derived from ``ATLAS_SECRET_KEY`` (shared by every process of a
deployment). At connect-wallet, after the signature verified, :meth:`NonceCodec.check` tells a nonce
this service never issued (``unknown``), one issued for another account (``address_mismatch``) and
an expired one (``expired``) apart, without any lookup; then the nonce is *spent* by one atomic
insert-if-absent — a row in the database (embedded mode) or a ``SET NX`` key in Redis (when
configured) — kept until the nonce expires. A replayed message and signature, even sent 20 times at
once, therefore yields exactly one session, and a stranger cannot burn someone else's challenge
(nothing is spent before the owner's signature verified).

Why not store the challenge: every challenge was a write transaction (and a row to sweep), about a
sixth of the server's CPU per complete sign-in; a flood of challenges now costs no storage at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth import repository

SpendOutcome = Literal["ok", "unknown", "reused", "expired", "address_mismatch"]

_RANDOM = 12  # bytes: 96 bits, what the issue asks of a nonce
_TAG = 8  # bytes per MAC: forging one is a 2^-64 guess per try, each try rate-limited
_LENGTH = 2 * (_RANDOM + 4 + 2 * _TAG)  # lowercase hex: alphanumeric, as EIP-4361 requires


class NonceCodec:
    """Mints and checks signed nonces; pure (no I/O), so a check costs two HMACs."""

    def __init__(self, secret_key: bytes) -> None:
        self._key = hmac.new(secret_key, b"atlas/siwe-nonce/v1", hashlib.sha256).digest()

    def _tag(self, kind: bytes, *parts: bytes) -> bytes:
        return hmac.new(self._key, kind + b"\x00" + b"\x00".join(parts), hashlib.sha256).digest()[:_TAG]

    def mint(self, wallet: str, expires_at: datetime) -> str:
        """A nonce for ``wallet`` (normalised: lowercase EVM address, or base58 Solana key)."""
        random = secrets.token_bytes(_RANDOM)
        expiry = int(expires_at.timestamp()).to_bytes(4, "big")
        issued = self._tag(b"issued", random, expiry)
        bound = self._tag(b"bound", random, wallet.encode())
        return (random + expiry + issued + bound).hex()

    def check(self, nonce: str, wallet: str, now: datetime) -> tuple[SpendOutcome, datetime | None]:
        """``("ok", expiry)`` if this service issued ``nonce`` for ``wallet`` and it has not expired."""
        if len(nonce) != _LENGTH or not nonce.isascii() or nonce != nonce.lower():
            return "unknown", None
        try:
            raw = bytes.fromhex(nonce)
        except ValueError:
            return "unknown", None
        random, expiry = raw[:_RANDOM], raw[_RANDOM : _RANDOM + 4]
        issued, bound = raw[_RANDOM + 4 : _RANDOM + 4 + _TAG], raw[_RANDOM + 4 + _TAG :]
        if not hmac.compare_digest(issued, self._tag(b"issued", random, expiry)):
            return "unknown", None
        if not hmac.compare_digest(bound, self._tag(b"bound", random, wallet.encode())):
            return "address_mismatch", None
        expires_at = datetime.fromtimestamp(int.from_bytes(expiry, "big"), tz=UTC)
        if expires_at <= now:
            return "expired", expires_at
        return "ok", expires_at


@dataclass(frozen=True, slots=True)
class Spend:
    """One nonce to spend: checked already, and still valid until ``expires_at``."""

    nonce: str
    wallet: str
    chain: str
    expires_at: datetime


class NonceStore(Protocol):
    #: True when spending needs the sign-in's write transaction (the database store).
    in_database: bool

    async def spend(self, conn: AsyncConnection | None, items: list[Spend], *, now: datetime) -> list[SpendOutcome]:
        """``ok`` for each nonce spent now, ``reused`` for one spent before (or earlier in ``items``)."""
        ...


class DatabaseNonceStore:
    """Spent nonces as rows (``INSERT … ON CONFLICT DO NOTHING RETURNING``), swept once expired."""

    in_database = True

    def __init__(self, sweep_every: float = 60.0) -> None:
        self._sweep_every = sweep_every
        self._last_sweep: datetime | None = None

    async def spend(self, conn: AsyncConnection | None, items: list[Spend], *, now: datetime) -> list[SpendOutcome]:
        assert conn is not None  # noqa: S101 - in_database stores are always given a connection
        if self._last_sweep is None or (now - self._last_sweep).total_seconds() > self._sweep_every:
            self._last_sweep = now
            # An expired nonce is refused before it is looked up: its row has no use left.
            await repository.sweep_nonces(conn, before=now)
        first: dict[str, Spend] = {}
        for item in items:
            first.setdefault(item.nonce, item)
        rows = [
            {"nonce": s.nonce, "address": s.wallet, "chain": s.chain, "issued_at": now, "expires_at": s.expires_at,
             "spent_at": now}
            for s in first.values()
        ]
        spent = await repository.record_spent_nonces(conn, rows)
        return _outcomes(items, spent)


def _outcomes(items: list[Spend], spent: set[str]) -> list[SpendOutcome]:
    granted: set[str] = set()
    outcomes: list[SpendOutcome] = []
    for item in items:
        if item.nonce in spent and item.nonce not in granted:
            granted.add(item.nonce)
            outcomes.append("ok")
        else:
            outcomes.append("reused")  # spent before, or the same message twice in one batch
    return outcomes


class RedisNonceStore:
    """Spent nonces as Redis keys (``SET NX`` with the nonce's remaining lifetime)."""

    in_database = False

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:auth:nonce-spent:"

    async def spend(self, conn: AsyncConnection | None, items: list[Spend], *, now: datetime) -> list[SpendOutcome]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in items:
                ttl = max(1, int((item.expires_at - now).total_seconds()) + 1)
                pipe.set(self._prefix + item.nonce, item.wallet, nx=True, ex=ttl)
            results = await pipe.execute()
        return ["ok" if result else "reused" for result in results]
