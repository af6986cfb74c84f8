from __future__ import annotations

import pytest

from atlas.points.rules import INVITEE_AWARD, RULE_VERSION, max_referrer_total, referrer_award


@pytest.mark.parametrize(
    ("nth", "points"),
    [(1, 100), (5, 100), (6, 80), (20, 80), (21, 50), (50, 50), (51, 20), (100, 20), (101, 0), (5000, 0), (0, 0)],
)
def test_referrer_bands(nth: int, points: int) -> None:
    assert referrer_award(nth) == points


def test_totals_and_version() -> None:
    assert max_referrer_total() == 5 * 100 + 15 * 80 + 30 * 50 + 50 * 20
    assert INVITEE_AWARD == 50
    assert RULE_VERSION == 1
