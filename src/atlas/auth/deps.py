"""``CurrentSession``: the bearer-token dependency every authenticated route uses.

Each use decodes the JWT and then reads the session row, so that logout, ``DELETE
/v1/auth/sessions/{id}`` and refresh-token reuse detection take effect at once, in every process of
the deployment (one indexed primary-key read per request; no cache to invalidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from atlas.auth import repository
from atlas.auth.errors import TokenError
from atlas.auth.tokens import AccessTokenError, decode_access_token
from atlas.deps import RuntimeDep
from atlas.runtime import Runtime


@dataclass(frozen=True)
class AuthContext:
    wallet: str  # lowercase 0x-address, or base58 Solana public key
    session_id: str
    chain: str  # CAIP-2, e.g. "eip155:1"


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def authenticate_access_token(runtime: Runtime, token: str) -> AuthContext:
    """Check an access token and its live session; raises :class:`TokenError` (401) otherwise.

    Used by :func:`require_session` and by the WebSocket gateway for its ``auth`` frame.
    """
    if not token:
        raise TokenError("An access token is required.", code="token_missing")
    now = runtime.clock.now()
    try:
        claims = decode_access_token(
            token, key=runtime.secrets.secret_key, issuer=runtime.settings.public_url, now=now
        )
    except AccessTokenError as exc:
        raise TokenError(exc.detail, code=exc.code) from None
    async with runtime.db.read() as conn:
        session = await repository.get_session(conn, claims.session_id)
    if session is None or session.wallet != claims.wallet:
        raise TokenError("The access token is not valid.", code="token_invalid")
    if session.revoked_at is not None:
        raise TokenError("This session has been signed out or revoked.", code="session_revoked")
    if as_utc(session.expires_at) <= now:
        raise TokenError("This session has expired; sign in again.", code="session_expired")
    return AuthContext(wallet=session.wallet, session_id=session.id, chain=session.chain)


# The shared dependency is async now (no threadpool hop), so auth reuses it under its old name.
AuthRuntime = RuntimeDep

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/connect-wallet.")


async def require_session(
    request: Request,
    runtime: AuthRuntime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthContext:
    if credentials is None:
        if request.headers.get("authorization"):
            raise TokenError("Send the access token as 'Authorization: Bearer <token>'.", code="token_invalid")
        raise TokenError("An access token is required.", code="token_missing")
    return await authenticate_access_token(runtime, credentials.credentials)


CurrentSession = Annotated[AuthContext, Depends(require_session)]
