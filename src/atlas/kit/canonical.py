"""RFC 8785 JSON Canonicalization Scheme for the value space the ledger allows.

Ledger bodies contain no floating-point numbers (CONTRACT §3), so the only parts of RFC 8785 that
matter are: members sorted by their UTF-16 code units, no insignificant whitespace, integers in
plain decimal, and strings escaped exactly as ECMAScript's ``JSON.stringify`` does. The standard
library's C encoder produces that escaping when ``ensure_ascii=False``; this module adds the UTF-16
key order, the integer range check, and refuses floats, so it runs at C speed on the hot path.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True)


class CanonicalError(ValueError):
    """The value cannot be represented in the ledger's canonical JSON."""


def _has_astral_key(value: Any) -> bool:
    # Code point order equals UTF-16 order unless a key holds a character above U+FFFF
    # (alongside one in U+E000..U+FFFF); only then does the order need re-checking.
    if isinstance(value, dict):
        return any(max(k, default="\x00") > "\uffff" for k in value) or any(
            _has_astral_key(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_astral_key(v) for v in value)
    return False


def _check(value: Any) -> None:
    """Refuse what the ledger's JSON may not hold. Exact type tests first: this runs for every event
    a server emits, and the ``isinstance`` chain was a visible share of the chat profile."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError("integer outside ±(2^53-1); encode it as a decimal string")
        return
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str and not isinstance(k, str):
                raise CanonicalError("object keys must be strings")
            _check(v)
        return
    if kind is list:
        for v in value:
            _check(v)
        return
    # Subclasses (an IntEnum, a StrEnum, a dict subclass) take the general path.
    if isinstance(value, bool | str):
        return
    if isinstance(value, int):
        _check(int(value))
    elif isinstance(value, float):
        raise CanonicalError("floating-point numbers are not allowed")
    elif isinstance(value, dict):
        _check(dict(value))
    elif isinstance(value, list):
        _check(list(value))
    else:
        raise CanonicalError(f"unsupported JSON value of type {type(value).__name__}")


def _utf16_sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _utf16_sorted(value[k]) for k in sorted(value, key=lambda s: s.encode("utf-16-be"))}
    if isinstance(value, list):
        return [_utf16_sorted(v) for v in value]
    return value


def canonical_str(value: Any) -> str:
    _check(value)
    out = _encoder.encode(value)
    # isascii() is a flag test on CPython's compact strings: the common case costs nothing.
    if out.isascii() or max(out) <= "\uffff" or not _has_astral_key(value):
        return out
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return encoder.encode(_utf16_sorted(value))


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 UTF-8 bytes of ``value`` (no floats, integers within ±(2^53-1))."""
    try:
        return canonical_str(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be UTF-8
        raise CanonicalError("strings must be valid Unicode (no lone surrogates)") from exc


def is_canonical(raw: bytes) -> bool:
    """True when ``raw`` is exactly the canonical form of the JSON it encodes."""
    try:
        value = json.loads(raw, parse_float=_reject_float, parse_constant=_reject_constant)
        return canonical_bytes(value) == raw
    except (ValueError, CanonicalError):
        return False


def _reject_float(_: str) -> Any:
    raise CanonicalError("floating-point numbers are not allowed")


def _reject_constant(_: str) -> Any:
    raise CanonicalError("NaN and Infinity are not JSON")


def loads_strict(raw: bytes | str) -> Any:
    """Parse JSON refusing floats, NaN and duplicate keys: what a ledger line may contain."""

    def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            if k in obj:
                raise CanonicalError(f"duplicate key {k!r}")
            obj[k] = v
        return obj

    return json.loads(
        raw, parse_float=_reject_float, parse_constant=_reject_constant, object_pairs_hook=no_dupes
    )
