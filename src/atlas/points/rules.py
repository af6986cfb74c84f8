"""Genesis Points rule table, version 1 (docs/points.md is the human-readable copy).

A referral pays only when the invitee activates. The referrer's award depends on how many of their
referrals have activated so far (this one included); the invitee gets a flat award. Integers only.
"""

from __future__ import annotations

RULE_VERSION = 1

REASON_REFERRAL_ACTIVATED = "referral_activated"  # paid to the referrer
REASON_REFERRAL_WELCOME = "referral_welcome"  # paid to the invitee on activation

INVITEE_AWARD = 50

# (first n, last n, points for each activated referral in that band)
REFERRER_BANDS: tuple[tuple[int, int, int], ...] = (
    (1, 5, 100),
    (6, 20, 80),
    (21, 50, 50),
    (51, 100, 20),
)


def referrer_award(nth: int) -> int:
    """Points for the referrer's ``nth`` activated referral (1-based); 0 beyond the table."""
    for first, last, points in REFERRER_BANDS:
        if first <= nth <= last:
            return points
    return 0


def max_referrer_total() -> int:
    return sum((last - first + 1) * points for first, last, points in REFERRER_BANDS)
