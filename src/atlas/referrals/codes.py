"""Referral codes as people type them: case-insensitive Crockford base32, 8 characters.

Sign-in mints the codes (uppercase Crockford base32); here they are read back forgivingly: lower
case, the look-alikes Crockford folds (I/L → 1, O → 0) and hyphens or spaces a person may add.
"""

from __future__ import annotations

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_ALPHABET = frozenset(CROCKFORD)
_FOLD = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def normalize_code(raw: str) -> str | None:
    """The canonical form of a typed code, or None when it cannot be a code at all."""
    if len(raw) > 4 * CODE_LENGTH:
        return None
    code = raw.strip().upper().translate(_FOLD)
    if len(code) != CODE_LENGTH or not set(code) <= _ALPHABET:
        return None
    return code


def referral_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/?ref={code}"
