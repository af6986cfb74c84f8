"""Profiles and avatars. Reads are public; edits only ever touch the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from atlas.auth.deps import CurrentSession
from atlas.deps import ClockDep, ReadConn, RuntimeDep, SettingsDep, WriteConn
from atlas.referrals import service as referrals
from atlas.referrals.service import MAX_TREE_DEPTH
from atlas.runtime import Runtime
from atlas.users import profiles
from atlas.users.avatars import MAX_BYTES
from atlas.users.component import profile_cache
from atlas.users.errors import ImageTooLarge
from atlas.users.schemas import ProfileUpdate, ReferralTree, UserProfile, WalletPath, normalize_wallet

router = APIRouter(prefix="/v1/users", tags=["users"])


class AvatarStored(BaseModel):
    sha256: str
    avatar_url: str


@router.get(
    "/me",
    summary="The caller's own profile. Authenticated: the caller's own account.",
    response_model=UserProfile,
)
async def get_me(session: CurrentSession, conn: ReadConn, settings: SettingsDep) -> UserProfile:
    return UserProfile.model_validate(await profiles.public_profile(conn, session.wallet, public_url=settings.public_url))


@router.patch(
    "/me",
    summary="Edit the caller's display name and bio. Authenticated: the caller's own profile only.",
    description="Authenticated: changes only the caller's own profile. `display_name`: NFC, 1–50 characters, "
    "no control or invisible characters; `bio`: at most 280 characters (`\"\"` or null clears it). "
    "Emits PROFILE_UPDATED. Setting a first display name can activate a pending referral.",
    response_model=UserProfile,
)
async def patch_me(
    body: ProfileUpdate,
    session: CurrentSession,
    conn: WriteConn,
    clock: ClockDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
) -> UserProfile:
    await profiles.update_profile(conn, wallet=session.wallet, changes=body, at=clock.now())
    _invalidate(runtime, session.wallet)
    return UserProfile.model_validate(await profiles.public_profile(conn, session.wallet, public_url=settings.public_url))


@router.put(
    "/me/avatar",
    summary="Upload the caller's avatar (multipart field `file`). Authenticated: the caller's own avatar only.",
    description="Authenticated: replaces only the caller's own avatar. PNG, JPEG, WebP or GIF (first frame), "
    "at most 5 MiB; re-encoded to a 256×256 WebP without metadata. Errors: `unsupported_media_type`, "
    "`image_too_large`, `image_invalid`.",
    response_model=AvatarStored,
)
async def put_avatar(
    file: Annotated[UploadFile, File(description="The image.")],
    session: CurrentSession,
    conn: WriteConn,
    clock: ClockDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
) -> AvatarStored:
    raw = await file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ImageTooLarge(f"An avatar file has at most {MAX_BYTES // (1024 * 1024)} MiB.")
    avatar = await profiles.prepare_avatar(raw)
    await profiles.set_avatar(conn, wallet=session.wallet, avatar=avatar, at=clock.now(), data_dir=settings.data_dir)
    _invalidate(runtime, session.wallet)
    url = profiles.avatar_url(settings.public_url, session.wallet, avatar.sha256)
    assert url is not None  # noqa: S101 - a sha256 is always given here
    return AvatarStored(sha256=avatar.sha256, avatar_url=url)


@router.get(
    "/{wallet}",
    summary="A public profile with its referral count, Genesis Points and coherence. Public.",
    response_model=UserProfile,
    responses={404: {"description": "unknown account"}},
)
async def get_user(wallet: WalletPath, request: Request) -> Response:
    # The hottest public read: served from the per-process cache when fresh, rendered once otherwise.
    # (The runtime is taken from the request, not RuntimeDep: a sync dependency costs a thread hop.)
    runtime: Runtime = request.app.state.runtime
    who = normalize_wallet(wallet)
    cache = profile_cache(runtime)
    body = cache.get(who) if cache is not None else None
    if body is None:
        profile = await profiles.lookup_public_profile(runtime.db, who, public_url=runtime.settings.public_url)
        body = UserProfile.model_validate(profile).model_dump_json().encode()
        if cache is not None:
            cache.put(who, body)
    return Response(content=body, media_type="application/json")


def _invalidate(runtime: RuntimeDep, wallet: str) -> None:
    cache = profile_cache(runtime)
    if cache is not None:
        cache.invalidate([wallet])


@router.get(
    "/{wallet}/avatar",
    summary="A user's avatar image (WebP), with ETag; 304 on a matching If-None-Match. Public.",
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}}, 304: {"description": "not modified"}, 404: {"description": "none"}},
)
async def get_avatar(wallet: WalletPath, request: Request, conn: ReadConn, settings: SettingsDep) -> Response:
    sha = await profiles.avatar_etag(conn, normalize_wallet(wallet))
    etag = f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    wanted = request.headers.get("if-none-match", "")
    if wanted.strip() == "*" or etag in {t.strip().removeprefix("W/") for t in wanted.split(",")}:
        return Response(status_code=304, headers=headers)
    media_type, data = await profiles.avatar_bytes(conn, sha, data_dir=settings.data_dir)
    return Response(content=data, media_type=media_type, headers=headers)


@router.get(
    "/{wallet}/referrals",
    summary="The referral tree below a user (depth ≤ 3), with activation status and counts. Public.",
    response_model=ReferralTree,
)
async def get_referrals(
    wallet: WalletPath,
    conn: ReadConn,
    depth: Annotated[int, Query(ge=1, le=MAX_TREE_DEPTH)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> ReferralTree:
    who = normalize_wallet(wallet)
    await profiles.require_user(conn, who)
    return ReferralTree.model_validate(
        await referrals.referral_tree(conn, wallet=who, depth=depth, limit=limit, cursor=cursor)
    )
