"""Sign-in and session lifecycle: challenges, connect-wallet, refresh rotation, revocation.

Services never commit: the caller owns the transaction. Refresh returns an outcome instead of
raising on reuse, because the family's revocation must be committed before the 401 is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.auth import repository
from atlas.auth.deps import AuthContext, as_utc
from atlas.auth.errors import AddressInvalid, ChainNotAllowed
from atlas.auth.nonces import NonceCodec
from atlas.auth.siwe import SiweMessage, SolanaSignInMessage, is_solana_address, to_checksum_address
from atlas.auth.tokens import hash_token, issue_access_token, new_refresh_token
from atlas.auth.verify import STATEMENT, service_origin
from atlas.config import Settings
from atlas.kit.clock import rfc3339
from atlas.referrals.service import ReferralResult, accept_at_signup

_RE_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class Challenge:
    message: str
    nonce: str
    address: str
    chain: str
    issued_at: datetime
    expires_at: datetime
    issued_at_text: str  # RFC 3339, as in the message (formatted once)
    expires_at_text: str


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    wallet: str
    session_id: str
    chain: str


@dataclass(frozen=True)
class SignIn:
    tokens: TokenPair
    profile_exists: bool
    registered: bool
    referral: ReferralResult | None


@dataclass(frozen=True)
class RefreshOutcome:
    status: Literal["rotated", "reused", "invalid", "expired", "revoked"]
    tokens: TokenPair | None = None


def resolve_chain(settings: Settings, address: str, chain_id: int | None, chain: str | None) -> tuple[str, str]:
    """(normalised address for the message, CAIP-2 chain) for a challenge request."""
    if chain is not None:
        namespace, _, reference = chain.partition(":")
        if namespace == "solana":
            if reference not in settings.solana_chains:
                raise ChainNotAllowed(f"Solana chain '{reference}' is not accepted here.")
            if not is_solana_address(address):
                raise AddressInvalid("A Solana address is a base58 Ed25519 public key.")
            return address, chain
        if namespace != "eip155" or not reference.isdigit():
            raise ChainNotAllowed(f"Unsupported chain '{chain}': use eip155:<id> or solana:<ref>.")
        if chain_id is not None and chain_id != int(reference):
            raise ChainNotAllowed("chain and chain_id disagree.")
        chain_id = int(reference)
    if chain_id is None:
        chain_id = settings.chain_ids[0]
    if chain_id not in settings.chain_ids:
        raise ChainNotAllowed(f"Chain id {chain_id} is not accepted here.")
    if not _RE_EVM_ADDRESS.fullmatch(address):
        raise AddressInvalid("An EVM address is 0x followed by 40 hex digits.")
    return to_checksum_address(address), f"eip155:{chain_id}"


def make_challenge(
    settings: Settings, codec: NonceCodec, *, address: str, chain_id: int | None, chain: str | None, now: datetime
) -> Challenge:
    """The message to sign, with a signed nonce (:mod:`atlas.auth.nonces`): nothing is stored."""
    display_address, caip2 = resolve_chain(settings, address, chain_id, chain)
    namespace, _, reference = caip2.partition(":")
    wallet = display_address.lower() if namespace == "eip155" else display_address
    # Whole seconds: what wallets display, and what round-trips through every RFC 3339 parser.
    issued_at = now.replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=settings.challenge_ttl_seconds)
    nonce = codec.mint(wallet, expires_at)
    origin = service_origin(settings)
    issued_text, expires_text = rfc3339(issued_at), rfc3339(expires_at)
    fields: dict[str, Any] = {
        "scheme": origin.scheme,
        "domain": origin.authority,
        "address": display_address,
        "statement": STATEMENT,
        "uri": settings.public_url,
        "version": "1",
        "nonce": nonce,
        "issued_at": issued_text,
        "expiration_time": expires_text,
    }
    message: SiweMessage
    if namespace == "solana":
        message = SolanaSignInMessage(chain_id=0, chain_reference=reference, **fields)
    else:
        message = SiweMessage(chain_id=int(reference), **fields)
    return Challenge(
        message=message.to_text(),
        nonce=nonce,
        address=display_address,
        chain=caip2,
        issued_at=issued_at,
        expires_at=expires_at,
        issued_at_text=issued_text,
        expires_at_text=expires_text,
    )


async def accept_referral(conn: AsyncConnection, *, invitee: str, code: str, at: datetime) -> ReferralResult:
    """A bad code, or a failing referrals domain, never blocks sign-in: a savepoint contains it."""
    try:
        async with conn.begin_nested():
            return await accept_at_signup(conn, invitee=invitee, code=code, at=at)
    except Exception:  # the referral is optional; the sign-in must still succeed
        return ReferralResult(accepted=False, reason="referral_failed")


async def refresh_owner(conn: AsyncConnection, refresh_token: str) -> str | None:
    return await repository.refresh_token_wallet(conn, hash_token(refresh_token))


async def refresh(
    conn: AsyncConnection, settings: Settings, key: bytes, *, refresh_token: str, now: datetime
) -> RefreshOutcome:
    token_hash = hash_token(refresh_token)
    session_id = await repository.spend_refresh_token(conn, token_hash=token_hash, now=now)
    if session_id is None:
        known = await repository.find_refresh_token(conn, token_hash)
        if known is None:
            return RefreshOutcome("invalid")
        family, spent_at = known
        if spent_at is not None:
            # OAuth 2.0 Security BCP §4.14: a spent token presented again means one of its two
            # holders is an attacker; end the whole family, access tokens included.
            await repository.revoke_session(conn, session_id=family, now=now, reason="refresh_reuse")
            return RefreshOutcome("reused")
        return RefreshOutcome("expired")
    session = await repository.get_session(conn, session_id)
    if session is None or session.revoked_at is not None:
        return RefreshOutcome("revoked")
    if as_utc(session.expires_at) <= now:
        return RefreshOutcome("expired")
    new_refresh = new_refresh_token()
    await repository.insert_refresh_token(
        conn, token_hash=hash_token(new_refresh), session_id=session.id, now=now, expires_at=as_utc(session.expires_at)
    )
    await repository.touch_session(conn, session_id=session.id, now=now)
    access, ttl = issue_access_token(
        key=key,
        issuer=settings.public_url,
        wallet=session.wallet,
        session_id=session.id,
        chain=session.chain,
        now=now,
        ttl=settings.access_token_ttl_seconds,
    )
    return RefreshOutcome("rotated", TokenPair(access, new_refresh, ttl, session.wallet, session.id, session.chain))


async def logout(conn: AsyncConnection, ctx: AuthContext, *, now: datetime) -> None:
    await repository.revoke_session(conn, session_id=ctx.session_id, now=now, reason="logout", wallet=ctx.wallet)


async def revoke_own_session(conn: AsyncConnection, ctx: AuthContext, session_id: str, *, now: datetime) -> bool:
    """Revoke one of the caller's own sessions; False if it is not theirs or not live."""
    return await repository.revoke_session(
        conn, session_id=session_id, now=now, reason="revoked_by_owner", wallet=ctx.wallet
    )


async def list_sessions(conn: AsyncConnection, ctx: AuthContext, *, now: datetime) -> list[repository.SessionRow]:
    return await repository.list_active_sessions(conn, wallet=ctx.wallet, now=now)


async def get_session(conn: AsyncConnection, ctx: AuthContext) -> repository.SessionRow | None:
    return await repository.get_session(conn, ctx.session_id)
