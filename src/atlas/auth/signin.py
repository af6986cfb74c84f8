"""Writing sign-ins in batches (group commit, see :mod:`atlas.auth.batch`).

``AuthWriter.sign_in`` takes an already verified sign-in (signature checked, no database touched),
checks its signed nonce (no I/O, :mod:`atlas.auth.nonces`) and, in one transaction shared with
whatever other sign-ins are waiting: spends the nonce, registers
the account on first sign-in, accepts a referral code, opens the session, stores the refresh token's
hash and emits ``USER_REGISTERED`` / ``LOGIN`` through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth import repository
from atlas.auth.batch import Batcher
from atlas.auth.errors import SignInRejected
from atlas.auth.nonces import NonceCodec, NonceStore, Spend, SpendOutcome
from atlas.auth.service import SignIn, TokenPair, accept_referral
from atlas.auth.tokens import hash_token, issue_access_token, new_refresh_token, session_hash
from atlas.auth.verify import VerifiedSignIn
from atlas.config import Settings
from atlas.events.models import Event, Login
from atlas.events.outbox import emit
from atlas.referrals.service import ReferralResult
from atlas.runtime import Runtime
from atlas.users.service import register_many

_NONCE_ERRORS: dict[str, tuple[str, str]] = {
    "unknown": ("nonce_unknown", "This nonce was never issued here (or has been forgotten)."),
    "reused": ("nonce_reused", "This nonce has already been used: request a new challenge."),
    "expired": ("nonce_expired", "This nonce has expired: request a new challenge."),
    "address_mismatch": ("nonce_address_mismatch", "This nonce was issued for another account."),
}


def nonce_error(outcome: SpendOutcome) -> SignInRejected:
    code, detail = _NONCE_ERRORS[outcome]
    return SignInRejected(detail, code=code)


@dataclass(frozen=True)
class PendingSignIn:
    verified: VerifiedSignIn
    referral_code: str | None
    user_agent: str | None
    nonce_expires_at: datetime
    nonce_spent: bool = False  # already spent outside the database (Redis)


async def complete_sign_ins(
    conn: AsyncConnection,
    settings: Settings,
    key: bytes,
    nonces: NonceStore,
    items: list[PendingSignIn],
    *,
    now: datetime,
) -> list[SignIn | Exception]:
    """The database half of a batch of sign-ins; one result (or refusal) per item, in order."""
    failures: dict[int, Exception] = {}
    in_db = [i for i, p in enumerate(items) if not p.nonce_spent]
    if in_db:
        spends = [_spend(items[i]) for i in in_db]
        for i, outcome in zip(in_db, await nonces.spend(conn, spends, now=now), strict=True):
            if outcome != "ok":
                failures[i] = nonce_error(outcome)
    ok = [i for i in range(len(items)) if i not in failures]
    regs = await register_many(conn, [(items[i].verified.wallet, items[i].verified.chain) for i in ok], at=now)

    expires = now + timedelta(seconds=settings.refresh_token_ttl_seconds)
    sessions: list[dict[str, object]] = []
    refresh_rows: list[dict[str, object]] = []
    logins: list[Event] = []
    done: dict[int, SignIn] = {}
    first_for_wallet: set[str] = set()
    for i in ok:
        pending = items[i]
        wallet, chain = pending.verified.wallet, pending.verified.chain
        registered = wallet in regs.created and wallet not in first_for_wallet
        first_for_wallet.add(wallet)
        referral: ReferralResult | None = None
        if pending.referral_code is not None:
            if registered:
                referral = await accept_referral(conn, invitee=wallet, code=pending.referral_code, at=now)
            else:
                referral = ReferralResult(accepted=False, reason="already_registered")
        session_id = str(uuid.uuid4())
        refresh = new_refresh_token()
        sessions.append(
            {
                "id": session_id,
                "wallet": wallet,
                "chain": chain,
                "created_at": now,
                "last_used_at": now,
                "expires_at": expires,
                "user_agent": (pending.user_agent or "")[:200] or None,
            }
        )
        refresh_rows.append(
            {"token_hash": hash_token(refresh), "session_id": session_id, "issued_at": now, "expires_at": expires}
        )
        logins.append(Login(actor=wallet, chain=chain, session_hash=session_hash(session_id)))
        access, ttl = issue_access_token(
            key=key,
            issuer=settings.public_url,
            wallet=wallet,
            session_id=session_id,
            chain=chain,
            now=now,
            ttl=settings.access_token_ttl_seconds,
        )
        done[i] = SignIn(
            tokens=TokenPair(access, refresh, ttl, wallet, session_id, chain),
            profile_exists=regs.profiles.get(wallet, False),
            registered=registered,
            referral=referral,
        )
    await repository.insert_sessions(conn, sessions)
    await repository.insert_refresh_tokens(conn, refresh_rows)
    await emit(conn, [*regs.events, *logins], at=now)
    return [failures[i] if i in failures else done[i] for i in range(len(items))]


def _spend(pending: PendingSignIn) -> Spend:
    verified = pending.verified
    return Spend(verified.nonce, verified.wallet, verified.chain, pending.nonce_expires_at)


class AuthWriter:
    """One per process: sign-ins waiting together share one write transaction."""

    def __init__(self, runtime: Runtime, nonces: NonceStore, codec: NonceCodec) -> None:
        self.runtime = runtime
        self.nonces = nonces
        self.codec = codec
        self._batcher: Batcher[PendingSignIn, SignIn] = Batcher(self._write, name="auth-writer")

    async def sign_in(self, verified: VerifiedSignIn, *, referral_code: str | None, user_agent: str | None) -> SignIn:
        now = self.runtime.clock.now()
        outcome, expires_at = self.codec.check(verified.nonce, verified.wallet, now)
        if outcome != "ok" or expires_at is None:
            raise nonce_error(outcome)
        pending = PendingSignIn(verified, referral_code, user_agent, expires_at)
        if not self.nonces.in_database:
            # Redis: spent before the database transaction (a failed commit burns the nonce; it is
            # never reusable).
            [outcome] = await self.nonces.spend(None, [_spend(pending)], now=now)
            if outcome != "ok":
                raise nonce_error(outcome)
            pending = PendingSignIn(verified, referral_code, user_agent, expires_at, nonce_spent=True)
        return await self._batcher.submit(pending)

    async def stop(self) -> None:
        await self._batcher.stop()

    async def _write(self, items: list[PendingSignIn]) -> list[SignIn | Exception]:
        now = self.runtime.clock.now()
        async with self.runtime.db.write() as conn:
            signed = await complete_sign_ins(
                conn, self.runtime.settings, self.runtime.secrets.secret_key, self.nonces, items, now=now
            )
        self.runtime.committed()
        return signed
