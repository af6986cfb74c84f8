"""Referral acceptance at first sign-in.

Placeholder interface so sign-in can call it; the referrals domain replaces the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class ReferralResult:
    accepted: bool
    reason: str | None = None  # a stable code when not accepted, e.g. "unknown_code", "self_referral"
    referrer: str | None = None


async def accept_at_signup(conn: AsyncConnection, *, invitee: str, code: str, at: datetime) -> ReferralResult:
    """Called by sign-in, inside its transaction, only on an account's first sign-in."""
    return ReferralResult(accepted=False, reason="referrals_unavailable")
