"""/v1/auth: challenge, connect-wallet, refresh, logout, sessions. Thin: parse, limit, call, answer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from atlas.auth import service
from atlas.auth.component import auth_state
from atlas.auth.deps import AuthRuntime, CurrentSession, as_utc
from atlas.auth.errors import RefreshRejected
from atlas.auth.repository import SessionRow
from atlas.auth.schemas import (
    ChallengeRequest,
    ChallengeResponse,
    ConnectWalletRequest,
    ConnectWalletResponse,
    ReferralOutcome,
    RefreshRequest,
    SessionInfo,
    SessionList,
    TokenResponse,
)
from atlas.auth.verify import verify_sign_in
from atlas.errors import NotFound
from atlas.kit.clock import rfc3339

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_PROBLEM = {"description": "Problem (application/problem+json) with a specific `code`."}
_REFRESH_ERRORS = {
    "invalid": ("refresh_token_invalid", "This refresh token is not valid."),
    "expired": ("refresh_token_expired", "This refresh token has expired; sign in again."),
    "revoked": ("session_revoked", "This session has been signed out or revoked."),
    "reused": (
        "refresh_token_reused",
        "This refresh token was already used; the whole session has been revoked. Sign in again.",
    ),
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _tokens(pair: service.TokenPair) -> dict[str, object]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "wallet": pair.wallet,
        "session_id": pair.session_id,
        "chain": pair.chain,
    }


@router.post(
    "/challenge",
    summary="Start a wallet sign-in: an EIP-4361 message with a single-use nonce. Public.",
    response_model=ChallengeResponse,
    responses={400: _PROBLEM, 429: _PROBLEM},
)
async def challenge(body: ChallengeRequest, request: Request, runtime: AuthRuntime) -> ChallengeResponse:
    state = auth_state(runtime)
    wallet_key = body.address.lower() if body.address.startswith("0x") else body.address
    await state.limiter.check("challenge", client=_client(request), wallet=wallet_key)
    issued = service.make_challenge(
        runtime.settings, state.codec, address=body.address, chain_id=body.chain_id, chain=body.chain,
        now=runtime.clock.now(),
    )
    return ChallengeResponse(
        message=issued.message,
        nonce=issued.nonce,
        expires_at=issued.expires_at_text,
        issued_at=issued.issued_at_text,
        address=issued.address,
        chain=issued.chain,
    )


@router.post(
    "/connect-wallet",
    summary="Finish a wallet sign-in with the signed message; registers the account on first sign-in. Public.",
    response_model=ConnectWalletResponse,
    responses={400: _PROBLEM, 401: _PROBLEM, 429: _PROBLEM},
)
async def connect_wallet(body: ConnectWalletRequest, request: Request, runtime: AuthRuntime) -> ConnectWalletResponse:
    state = auth_state(runtime)
    await state.limiter.check("connect", client=_client(request))
    now = runtime.clock.now()
    verified = await verify_sign_in(body.message, body.signature, settings=runtime.settings, now=now, rpc=state.rpc)
    await state.limiter.check("connect", wallet=verified.wallet)
    result = await state.writer.sign_in(
        verified, referral_code=body.referral_code, user_agent=request.headers.get("user-agent")
    )
    referral = (
        None if result.referral is None else ReferralOutcome(accepted=result.referral.accepted, reason=result.referral.reason)
    )
    return ConnectWalletResponse(
        **_tokens(result.tokens),
        profile_exists=result.profile_exists,
        registered=result.registered,
        referral=referral,
    )


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new pair; the old one is spent, and reusing it revokes the session. Public (the refresh token is the credential).",
    response_model=TokenResponse,
    responses={401: _PROBLEM, 429: _PROBLEM},
)
async def refresh(body: RefreshRequest, request: Request, runtime: AuthRuntime) -> TokenResponse:
    state = auth_state(runtime)
    await state.limiter.check("refresh", client=_client(request))
    async with runtime.db.read() as conn:
        owner = await service.refresh_owner(conn, body.refresh_token)
    await state.limiter.check("refresh", wallet=owner)
    now = runtime.clock.now()
    async with runtime.db.write() as conn:
        outcome = await service.refresh(
            conn, runtime.settings, runtime.secrets.secret_key, refresh_token=body.refresh_token, now=now
        )
    # Committed first: a detected reuse has revoked the family even though we answer 401.
    runtime.committed()
    if outcome.tokens is None:
        code, detail = _REFRESH_ERRORS[outcome.status]
        raise RefreshRejected(detail, code=code)
    return TokenResponse(**_tokens(outcome.tokens))


@router.post(
    "/logout",
    status_code=204,
    summary="End the calling session at once (its access and refresh tokens). Authenticated: the caller's own session.",
    responses={401: _PROBLEM},
)
async def logout(ctx: CurrentSession, runtime: AuthRuntime) -> Response:
    async with runtime.db.write() as conn:
        await service.logout(conn, ctx, now=runtime.clock.now())
    runtime.committed()
    return Response(status_code=204)


def _session_info(row: SessionRow, current_id: str) -> SessionInfo:
    return SessionInfo(
        session_id=row.id,
        wallet=row.wallet,
        chain_id=row.chain,
        created_at=rfc3339(as_utc(row.created_at)),
        last_used_at=rfc3339(as_utc(row.last_used_at)),
        expires_at=rfc3339(as_utc(row.expires_at)),
        current=row.id == current_id,
    )


@router.get(
    "/sessions",
    summary="List the caller's live sessions. Authenticated: the caller's own sessions only.",
    response_model=SessionList,
    responses={401: _PROBLEM},
)
async def list_sessions(ctx: CurrentSession, runtime: AuthRuntime) -> SessionList:
    async with runtime.db.read() as conn:
        rows = await service.list_sessions(conn, ctx, now=runtime.clock.now())
    return SessionList(sessions=[_session_info(r, ctx.session_id) for r in rows])


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    summary="Revoke one of the caller's sessions at once. Authenticated: the caller's own sessions only.",
    responses={401: _PROBLEM, 404: _PROBLEM},
)
async def delete_session(session_id: str, ctx: CurrentSession, runtime: AuthRuntime) -> Response:
    revoked = False
    if len(session_id) <= 64:
        async with runtime.db.write() as conn:
            revoked = await service.revoke_own_session(conn, ctx, session_id, now=runtime.clock.now())
        runtime.committed()
    if not revoked:
        raise NotFound("You have no live session with this id.", code="session_not_found")
    return Response(status_code=204)


@router.get(
    "/session",
    summary="The calling session: which account and chain it is bound to. Authenticated: the caller's own session.",
    response_model=SessionInfo,
    responses={401: _PROBLEM},
)
async def current_session(ctx: CurrentSession, runtime: AuthRuntime) -> SessionInfo:
    async with runtime.db.read() as conn:
        row = await service.get_session(conn, ctx)
    if row is None:  # revoked and swept between the check and this read
        raise NotFound("No such session.", code="session_not_found")
    return _session_info(row, ctx.session_id)
