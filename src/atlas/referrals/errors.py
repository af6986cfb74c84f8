"""Referral errors with stable codes."""

from __future__ import annotations

from atlas.errors import BadRequest, NotFound, RateLimited


class ReferralCodeNotFound(NotFound):
    code = "referral_code_not_found"


class ReferralLookupLimited(RateLimited):
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many failed referral-code lookups from this address; try again later.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


class CursorInvalid(BadRequest):
    code = "cursor_invalid"
