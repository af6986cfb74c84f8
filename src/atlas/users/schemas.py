"""Profile request/response models and the text rules for names and bios.

Display names are shown next to messages, so they must not be able to impersonate by looking blank
or different from what they are: NFC-normalised, 1–50 characters, no control, format (bidi
overrides, zero-width), private-use, unassigned or other invisible characters, and only the plain
space as whitespace (runs collapsed). A zero-width joiner is allowed only inside an emoji sequence.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

import base58
from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from atlas.users.errors import BioInvalid, DisplayNameInvalid, WalletInvalid

DISPLAY_NAME_MAX = 50
BIO_MAX = 280

_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")
_ZWJ = "\u200d"
# Characters that render as nothing (or as blank) but are not in a C* category.
_INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180e\u2061\u2062\u2063\u2064\ufeff\u00ad"
)
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def normalize_wallet(raw: str) -> str:
    """An account id as stored: EVM addresses lowercased; Solana keys (base58, 32 bytes) as given."""
    if _EVM.match(raw):
        return raw.lower()
    if _BASE58.match(raw):
        try:
            if len(base58.b58decode(raw)) == 32:
                return raw
        except ValueError:
            pass
    raise WalletInvalid("Not a wallet: expected 0x + 40 hex digits or a base58 Solana public key.")


WalletPath = Annotated[
    str, Path(min_length=2, max_length=64, description="EVM address (any case) or Solana public key.")
]


def _is_emoji_like(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or 0x1F000 <= ord(ch) <= 0x1FAFF or ch == "\ufe0f"


def normalize_display_name(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw)
    text = " ".join(text.split(" "))  # split on plain spaces only; others are refused below
    text = re.sub(" {2,}", " ", text).strip(" ")
    if not 1 <= len(text) <= DISPLAY_NAME_MAX:
        raise DisplayNameInvalid(f"A display name has 1 to {DISPLAY_NAME_MAX} characters.")
    for i, ch in enumerate(text):
        if ch == _ZWJ and 0 < i < len(text) - 1 and _is_emoji_like(text[i - 1]) and _is_emoji_like(text[i + 1]):
            continue
        cat = unicodedata.category(ch)
        if ch in _INVISIBLE or cat in _BAD_CATEGORIES or (cat == "Zs" and ch != " "):
            raise DisplayNameInvalid(
                f"The display name contains a control or invisible character (U+{ord(ch):04X})."
            )
    if all(unicodedata.category(ch).startswith("M") or ch == " " for ch in text):
        raise DisplayNameInvalid("A display name needs at least one visible character.")
    return text


def normalize_bio(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).strip()
    if len(text) > BIO_MAX:
        raise BioInvalid(f"A bio has at most {BIO_MAX} characters.")
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\n" or ch == _ZWJ:
            continue
        if ch in _INVISIBLE or cat in _BAD_CATEGORIES:
            raise BioInvalid(f"The bio contains a control or invisible character (U+{ord(ch):04X}).")
    return text


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=400, description="1–50 characters after NFC.")
    bio: str | None = Field(default=None, max_length=2000, description="At most 280 characters; \"\" clears it.")


class Coherence(BaseModel):
    score: int
    trust_level: str


class UserProfile(BaseModel):
    wallet: str
    display_name: str | None
    bio: str | None
    avatar_url: str | None
    created_at: str
    referral_code: str | None
    referral_link: str | None
    referral_count: int
    genesis_points: int
    coherence: Coherence


class ReferralNode(BaseModel):
    wallet: str
    referrer: str
    depth: int
    display_name: str | None
    accepted_seq: int
    accepted_at: str
    activated: bool
    activated_seq: int | None
    activated_at: str | None
    referral_count: int


class ReferralTree(BaseModel):
    wallet: str
    depth: int
    referral_count: int
    activated_count: int
    counts_by_depth: dict[str, dict[str, int]]
    items: list[ReferralNode]
    next_cursor: str | None
