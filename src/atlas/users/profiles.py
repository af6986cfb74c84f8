"""Profiles: the public view of an account, its edits and its avatar.

Profile edits are write-side facts (the ``users`` row) and emit ``ProfileUpdated``; the figures shown
beside them (referral count, points, coherence) are read from the ledger projections.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.db import Database
from atlas.events.models import ProfileUpdated
from atlas.events.outbox import emit
from atlas.kit.clock import rfc3339
from atlas.referrals import service as referrals
from atlas.referrals.codes import referral_link
from atlas.users import profile_repository as repo
from atlas.users.avatars import (
    MEDIA_TYPE,
    ProcessedAvatar,
    process_avatar,
    read_avatar_file,
    write_avatar_file,
)
from atlas.users.errors import AvatarNotFound, UserNotFound
from atlas.users.schemas import ProfileUpdate, normalize_bio, normalize_display_name


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def avatar_url(public_url: str, wallet: str, sha256: str | None) -> str | None:
    # The version query makes the URL change with the image, so clients can cache it for long.
    return f"{public_url}/v1/users/{wallet}/avatar?v={sha256[:16]}" if sha256 else None


async def public_profile(conn: AsyncConnection, wallet: str, *, public_url: str) -> dict[str, Any]:
    """The profile as ``conn``'s transaction sees it (``/me``, also right after an edit)."""
    return _render(await repo.get_public_profile(conn, wallet), public_url)


async def lookup_public_profile(db: Database, wallet: str, *, public_url: str) -> dict[str, Any]:
    """The committed profile, for the public read (the hottest one: no transaction to open)."""
    return _render(await repo.lookup_public_profile(db, wallet), public_url)


def _render(row: dict[str, Any] | None, public_url: str) -> dict[str, Any]:
    if row is None:
        raise UserNotFound("No account with this wallet.")
    code = row["referral_code"]
    score = row["score"]
    return {
        "wallet": row["wallet"],
        "display_name": row["display_name"],
        "bio": row["bio"],
        "avatar_url": avatar_url(public_url, row["wallet"], row["avatar_sha256"]),
        "created_at": rfc3339(_utc(row["created_at"])),
        "referral_code": code,
        "referral_link": referral_link(public_url, code) if code else None,
        "referral_count": int(row["referral_count"] or 0),
        "genesis_points": int(row["balance"] or 0),
        "coherence": {
            "score": int(score) if score is not None else 0,
            "trust_level": row["trust_level"] or "UNKNOWN",
        },
    }


async def update_profile(
    conn: AsyncConnection, *, wallet: str, changes: ProfileUpdate, at: datetime
) -> list[str]:
    """Apply the given fields; returns the names of those that changed."""
    user = await repo.get_user(conn, wallet)
    if user is None:
        raise UserNotFound("No account with this wallet.")
    values: dict[str, Any] = {}
    given = changes.model_fields_set
    if "display_name" in given and changes.display_name is not None:
        name = normalize_display_name(changes.display_name)
        if name != user["display_name"]:
            values["display_name"] = name
    if "bio" in given:
        bio = normalize_bio(changes.bio or "") or None
        if bio != user["bio"]:
            values["bio"] = bio
    if not values:
        return []
    fields = sorted(values)
    values["updated_at"] = at
    await repo.update_profile(conn, wallet, values)
    name_set = "display_name" in values and user["display_name"] is None
    await emit(
        conn,
        [ProfileUpdated(actor=wallet, fields=fields, display_name_set="display_name" in values)],
        at=at,
    )
    if name_set:
        await referrals.note_display_name_set(conn, wallet=wallet, at=at)
    return fields


async def prepare_avatar(raw: bytes) -> ProcessedAvatar:
    """Decode and re-encode off the event loop (Pillow releases the GIL while decoding)."""
    return await asyncio.to_thread(process_avatar, raw)


async def set_avatar(
    conn: AsyncConnection, *, wallet: str, avatar: ProcessedAvatar, at: datetime, data_dir: Path
) -> None:
    exists, current = await repo.avatar_sha(conn, wallet)
    if not exists:
        raise UserNotFound("No account with this wallet.")
    await asyncio.to_thread(write_avatar_file, data_dir, avatar.sha256, avatar.data)
    await repo.put_blob(conn, sha256=avatar.sha256, media_type=avatar.media_type, data=avatar.data, at=at)
    if current == avatar.sha256:
        return
    await repo.update_profile(conn, wallet, {"avatar_sha256": avatar.sha256, "updated_at": at})
    await emit(conn, [ProfileUpdated(actor=wallet, fields=["avatar"], display_name_set=False)], at=at)


async def avatar_etag(conn: AsyncConnection, wallet: str) -> str:
    exists, sha = await repo.avatar_sha(conn, wallet)
    if not exists:
        raise UserNotFound("No account with this wallet.")
    if sha is None:
        raise AvatarNotFound("This account has no avatar.")
    return sha


async def avatar_bytes(conn: AsyncConnection, sha256: str, *, data_dir: Path) -> tuple[str, bytes]:
    """The local content-addressed copy if present, else the database's (and cache it locally)."""
    data = await asyncio.to_thread(read_avatar_file, data_dir, sha256)
    if data is not None:
        return MEDIA_TYPE, data
    blob = await repo.get_blob(conn, sha256)
    if blob is None:
        raise AvatarNotFound("This account's avatar is missing.")
    media_type, data = blob
    await asyncio.to_thread(write_avatar_file, data_dir, sha256, data)
    return media_type, data


async def require_user(conn: AsyncConnection, wallet: str) -> None:
    if not await repo.user_exists(conn, wallet):
        raise UserNotFound("No account with this wallet.")
