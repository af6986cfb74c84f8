"""Sign-in and session failures, each with its own stable ``code``.

Verification failures are 401; malformed input is 400. A 401 on a bearer-protected route carries
``WWW-Authenticate: Bearer`` (RFC 6750), one on sign-in ``WWW-Authenticate: SIWE``.
"""

from __future__ import annotations

from typing import Any

from atlas.errors import BadRequest, RetryLater, Unauthorized

_BEARER_ERRORS = {
    "token_missing": None,
    "token_invalid": "invalid_token",
    "token_expired": "invalid_token",
    "session_revoked": "invalid_token",
    "session_expired": "invalid_token",
}


class TokenError(Unauthorized):
    """Missing, invalid, expired or revoked bearer token."""

    code = "token_invalid"

    def __init__(self, detail: str, *, code: str) -> None:
        error = _BEARER_ERRORS.get(code, "invalid_token")
        header = "Bearer" if error is None else f'Bearer error="{error}"'
        super().__init__(detail, code=code, headers={"WWW-Authenticate": header})


class SignInRejected(Unauthorized):
    """The signed message or its signature did not prove control of the account, now, here."""

    code = "signature_invalid"

    def __init__(self, detail: str, *, code: str, **extra: Any) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "SIWE"}, **extra)


class SignInMalformed(BadRequest):
    """The request cannot even be checked: an unparseable message or signature encoding."""

    code = "message_malformed"


class ChainNotAllowed(BadRequest):
    code = "chain_not_allowed"


class AddressInvalid(BadRequest):
    code = "address_invalid"


class RefreshRejected(Unauthorized):
    code = "refresh_token_invalid"

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class AuthRateLimited(RetryLater):
    code = "rate_limited"
