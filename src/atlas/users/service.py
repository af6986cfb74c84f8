"""Registration: the account's row, created on its first sign-in, with its referral code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events.models import UserRegistered
from atlas.events.outbox import emit
from atlas.users import repository

# Crockford base32 without I, L, O, U: no letter can be misread as a digit or spell much.
REFERRAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERRAL_CODE_LENGTH = 8
_CROCKFORD_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_referral_code() -> str:
    """8 symbols from ``secrets`` = 40 bits: collisions are rare and retried on insert."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def normalize_referral_code(code: str) -> str | None:
    """The stored (uppercase) form of a code as a human typed it, or None if it cannot be one.

    Case-insensitive, ignores hyphens and spaces, and reads I/L as 1 and O as 0 (Crockford).
    """
    cleaned = code.strip().replace("-", "").replace(" ", "").upper().translate(_CROCKFORD_ALIASES)
    if len(cleaned) != REFERRAL_CODE_LENGTH or any(c not in REFERRAL_ALPHABET for c in cleaned):
        return None
    return cleaned


async def register_if_new(conn: AsyncConnection, *, wallet: str, chain: str, at: datetime) -> bool:
    """Create the account if it does not exist; True when this call created it.

    Emits ``UserRegistered`` through the outbox in the caller's transaction. Safe under concurrent
    first sign-ins of one wallet: exactly one caller gets True.
    """
    for _ in range(8):
        code = new_referral_code()
        if await repository.insert_if_absent(conn, wallet=wallet, chain=chain, referral_code=code, at=at):
            await emit(conn, [UserRegistered(actor=wallet, chain=chain, referral_code=code)], at=at)
            return True
        if await repository.exists(conn, wallet):
            return False
        # Otherwise the code collided with another account's: draw again.
    raise RuntimeError("could not allocate a unique referral code")


async def profile_exists(conn: AsyncConnection, wallet: str) -> bool:
    """True once the account has a display name."""
    return await repository.profile_exists(conn, wallet)


@dataclass(frozen=True)
class Registrations:
    created: set[str]  # wallets this call created
    events: list[UserRegistered]  # theirs, for the caller to emit (one outbox INSERT per batch)
    profiles: dict[str, bool]  # wallet → profile_exists, for the accounts that existed before


async def register_many(conn: AsyncConnection, accounts: list[tuple[str, str]], *, at: datetime) -> Registrations:
    """Bulk :func:`register_if_new` for ``(wallet, chain)`` pairs (first chain wins per wallet).

    The rare referral-code collision falls back to the one-by-one path (which emits its own event).
    """
    chains: dict[str, str] = {}
    for wallet, chain in accounts:
        chains.setdefault(wallet, chain)
    codes = {w: new_referral_code() for w in chains}
    rows: list[dict[str, object]] = [
        {"wallet": w, "chain": c, "created_at": at, "updated_at": at, "referral_code": codes[w]}
        for w, c in chains.items()
    ]
    # Existing accounts make their row a no-op (ON CONFLICT DO NOTHING): one statement either way.
    created = await repository.insert_many_if_absent(conn, rows)
    known = await repository.existing(conn, [w for w in chains if w not in created])
    for wallet in chains:
        # Neither created nor existing: the referral code collided with another account's.
        if wallet not in created and wallet not in known:
            if await register_if_new(conn, wallet=wallet, chain=chains[wallet], at=at):
                created.add(wallet)
                codes.pop(wallet)  # register_if_new emitted its own event
            else:
                known[wallet] = await repository.profile_exists(conn, wallet)
    events = [UserRegistered(actor=w, chain=chains[w], referral_code=codes[w]) for w in chains if w in created and w in codes]
    return Registrations(created=created, events=events, profiles=known)
