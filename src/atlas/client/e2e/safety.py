"""Safety numbers: 60 digits two people compare out of band to detect a swapped identity key."""

from __future__ import annotations

import hashlib

ITERATIONS = 5200


def fingerprint(wallet: str, identity_key: bytes) -> str:
    """30 digits for one (wallet, identity key): iterated SHA-512, six 5-byte groups mod 100000."""
    h = hashlib.sha512(b"\x00\x00" + identity_key + wallet.lower().encode()).digest()
    for _ in range(ITERATIONS):
        h = hashlib.sha512(h + identity_key).digest()
    return "".join(f"{int.from_bytes(h[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def safety_number(wallet_a: str, identity_a: bytes, wallet_b: str, identity_b: bytes) -> str:
    """60 digits: both fingerprints sorted ascending and concatenated (the same on both sides)."""
    return "".join(sorted((fingerprint(wallet_a, identity_a), fingerprint(wallet_b, identity_b))))


def format_safety_number(number: str) -> str:
    """12 groups of 5 digits, space-separated."""
    return " ".join(number[i : i + 5] for i in range(0, len(number), 5))
