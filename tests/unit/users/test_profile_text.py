from __future__ import annotations

import pytest

from atlas.users.errors import BioInvalid, DisplayNameInvalid, WalletInvalid
from atlas.users.schemas import normalize_bio, normalize_display_name, normalize_wallet


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice", "Alice"),
        ("  Alice   Smith ", "Alice Smith"),
        ("Cafe\u0301", "Caf\u00e9"),  # NFC
        ("x" * 50, "x" * 50),
        ("\U0001f469\u200d\U0001f4bb dev", "\U0001f469\u200d\U0001f4bb dev"),  # emoji ZWJ sequence
        ("Łukasz 山田", "Łukasz 山田"),
    ],
)
def test_display_name_ok(raw: str, expected: str) -> None:
    assert normalize_display_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "x" * 51,
        "Al\u200bice",  # zero-width space
        "Al\u200dice",  # ZWJ outside an emoji sequence
        "\u202egnp.exe",  # right-to-left override
        "Bob\x00",
        "Bob\nSmith",
        "\u3164",  # Hangul filler
        "\u2800",  # braille blank
        "Bob\u00a0Smith",  # non-breaking space
        "\ue000boss",  # private use
        "\u0301\u0301",  # only combining marks
    ],
)
def test_display_name_refused(raw: str) -> None:
    with pytest.raises(DisplayNameInvalid):
        normalize_display_name(raw)


def test_bio_rules() -> None:
    assert normalize_bio(" hi\nthere ") == "hi\nthere"
    assert normalize_bio("") == ""
    with pytest.raises(BioInvalid):
        normalize_bio("x" * 281)
    with pytest.raises(BioInvalid):
        normalize_bio("a\u202eb")


def test_wallets() -> None:
    assert normalize_wallet("0xABCDEF0123456789abcdef0123456789ABCDEF01") == "0xabcdef0123456789abcdef0123456789abcdef01"
    assert normalize_wallet("11111111111111111111111111111111") == "11111111111111111111111111111111"
    for bad in ["0x123", "hello", "0xZZCDEF0123456789abcdef0123456789ABCDEF01", "1" * 45]:
        with pytest.raises(WalletInvalid):
            normalize_wallet(bad)
