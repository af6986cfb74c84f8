"""Signed nonces: only this deployment's key mints them, each is bound to one account and expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from atlas.auth.nonces import NonceCodec

KEY = b"k" * 32
WALLET = "0x" + "ab" * 20
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(minutes=5)


def test_a_minted_nonce_checks_for_its_account_until_it_expires() -> None:
    codec = NonceCodec(KEY)
    nonce = codec.mint(WALLET, EXPIRES)
    assert nonce.isalnum()
    assert nonce == nonce.lower()
    assert codec.check(nonce, WALLET, NOW) == ("ok", EXPIRES)
    assert codec.check(nonce, "0x" + "cd" * 20, NOW) == ("address_mismatch", None)
    assert codec.check(nonce, WALLET, EXPIRES)[0] == "expired"
    assert NonceCodec(b"another key" * 3).check(nonce, WALLET, NOW) == ("unknown", None)


def test_nonces_are_random() -> None:
    codec = NonceCodec(KEY)
    assert len({codec.mint(WALLET, EXPIRES) for _ in range(1000)}) == 1000


@given(position=st.integers(min_value=0, max_value=63), replacement=st.sampled_from("0123456789abcdef"))
def test_any_changed_character_is_refused(position: int, replacement: str) -> None:
    codec = NonceCodec(KEY)
    nonce = codec.mint(WALLET, EXPIRES)
    changed = nonce[:position] + replacement + nonce[position + 1 :]
    outcome, _ = codec.check(changed, WALLET, NOW)
    assert outcome == "ok" if changed == nonce else outcome in ("unknown", "address_mismatch")


def test_garbage_is_unknown() -> None:
    codec = NonceCodec(KEY)
    nonce = codec.mint(WALLET, EXPIRES)
    for bad in ("", "neverissued0000", nonce.upper(), nonce[:-1], nonce + "0", "z" * len(nonce), "é" * len(nonce)):
        assert codec.check(bad, WALLET, NOW) == ("unknown", None)
