"""Access tokens (short-lived JWTs) and opaque refresh tokens.

Access tokens are HS256 JWTs signed with the deployment's shared secret; they carry the session id
(``sid``) so that every use can be checked against the session row, which makes revocation immediate.
Refresh tokens are random and opaque; the server keeps only their SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

ALGORITHM = "HS256"
AUDIENCE = "atlas"
REFRESH_PREFIX = "atr_"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT "typ" value, not a secret. RFC 9068: lets a verifier refuse any other JWT signed with the same key


@dataclass(frozen=True)
class AccessClaims:
    wallet: str
    session_id: str
    chain: str
    jti: str
    issued_at: int
    expires_at: int


class AccessTokenError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _b64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


# What ``jwt.encode(..., headers={"typ": TOKEN_TYPE})`` writes (sorted keys, compact), encoded once.
_HEADER_SEGMENT = _b64url(json.dumps({"alg": ALGORITHM, "typ": TOKEN_TYPE}, separators=(",", ":"), sort_keys=True).encode())
_compact = json.JSONEncoder(separators=(",", ":")).encode


def _encode_hs256(claims: dict[str, Any], key: bytes) -> str:
    """Compact JWS with HS256, byte for byte what PyJWT's ``jwt.encode`` produces for these claims
    (tests decode it with PyJWT); PyJWT's generic path (header merging and validation, algorithm
    lookup, key preparation) cost ~5x more per sign-in than the HMAC itself."""
    signing_input = _HEADER_SEGMENT + b"." + _b64url(_compact(claims).encode())
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


def issue_access_token(
    *, key: bytes, issuer: str, wallet: str, session_id: str, chain: str, now: datetime, ttl: int
) -> tuple[str, int]:
    """Return the token and its lifetime in seconds."""
    iat = int(now.timestamp())
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": wallet,
        "sid": session_id,
        "chain": chain,
        "jti": uuid.uuid4().hex,
        "iat": iat,
        "exp": iat + ttl,
    }
    return _encode_hs256(claims, key), ttl


def decode_access_token(token: str, *, key: bytes, issuer: str, now: datetime) -> AccessClaims:
    """Verify signature, algorithm, type, issuer, audience and expiry against the injected clock."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise AccessTokenError("token_invalid", "The access token is not valid.")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "sid", "jti"], "verify_exp": False, "verify_iat": False},
        )
    except AccessTokenError:
        raise
    except jwt.PyJWTError as exc:
        raise AccessTokenError("token_invalid", "The access token is not valid.") from exc
    exp, iat, sub, sid = claims.get("exp"), claims.get("iat"), claims.get("sub"), claims.get("sid")
    if not (isinstance(exp, int) and isinstance(iat, int) and isinstance(sub, str) and isinstance(sid, str)):
        raise AccessTokenError("token_invalid", "The access token is not valid.")
    # Expiry against the injected clock (not wall time), so tests and replays are deterministic.
    if now.timestamp() >= exp:
        raise AccessTokenError("token_expired", "The access token has expired; refresh it.")
    return AccessClaims(
        wallet=sub,
        session_id=sid,
        chain=str(claims.get("chain", "")),
        jti=str(claims["jti"]),
        issued_at=iat,
        expires_at=exp,
    )


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
