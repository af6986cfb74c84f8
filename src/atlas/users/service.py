"""Registration: the account's row, created on its first sign-in, with its referral code."""

from __future__ import annotations

import secrets
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
