"""Referral acceptance at first sign-in and activation on the invitee's first real conversation.

Interfaces other domains call (inside their own transactions):
- sign-in: :func:`accept_at_signup`
- chat: :func:`note_message_sent`
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


async def note_message_sent(conn: AsyncConnection, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
    """Called by chat inside its message-store transaction for every stored message.

    Activates the sender's referral when the sender is a not-yet-activated invitee with a display
    name writing in an accepted conversation (emitting ReferralActivated and the PointsAwarded events
    in the same transaction). Cheap when there is nothing to do: one primary-key read.
    """
    return None
