"""The chat domain's view of its neighbours: devices, referrals and user profiles.

Kept in one module so that the hot path's dependencies on other domains are explicit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.devices.repository import active_device_ids as _active_device_ids


async def active_devices(conn: AsyncConnection, wallet: str) -> set[str]:
    return {d.lower() for d in await _active_device_ids(conn, wallet)}


async def note_message_sent(conn: AsyncConnection, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
    from atlas.referrals import service

    hook = getattr(service, "note_message_sent", None)
    if hook is not None:  # TEMPORARY until social lands
        await hook(conn, sender=sender, conversation_accepted=conversation_accepted, at=at)


def users_table() -> Any | None:
    """The profiles table, for searching the inbox by the peer's display name."""
    try:
        from atlas.users.tables import users
    except ModuleNotFoundError:  # TEMPORARY until users lands
        return None
    return users


async def account_exists(conn: AsyncConnection, wallet: str) -> bool:
    table = users_table()
    if table is None:
        return True
    from sqlalchemy import select

    row = (await conn.execute(select(table.c.wallet).where(table.c.wallet == wallet))).first()
    return row is not None
