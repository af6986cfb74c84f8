from __future__ import annotations

import pytest

from atlas.referrals.codes import normalize_code, referral_link


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCD2345", "ABCD2345"),
        ("abcd2345", "ABCD2345"),
        (" abcd-2345 ", "ABCD2345"),
        ("oOiIlL23", "001111" + "23"),
        ("ABCDU345", None),  # U is not in Crockford's alphabet
        ("ABC", None),
        ("ABCDEFGHJ", None),
        ("", None),
        ("x" * 1000, None),
        ("ABCD234\u0665", None),
    ],
)
def test_normalize_code(raw: str, expected: str | None) -> None:
    assert normalize_code(raw) == expected


def test_referral_link() -> None:
    assert referral_link("https://atlas.example/", "ABCD2345") == "https://atlas.example/?ref=ABCD2345"
