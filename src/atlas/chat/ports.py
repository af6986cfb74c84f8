"""The chat domain's view of its neighbours: devices, referrals and user profiles.

Kept in one module so that the hot path's dependencies on other domains are explicit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.devices.repository import active_device_ids, active_device_ids_many
from atlas.referrals import repository as referrals_repository
from atlas.referrals import service as referrals_service
from atlas.users.tables import users


async def live_sessions(conn: AsyncConnection, session_ids: list[str], *, now: datetime) -> set[str]:
    from atlas.auth.repository import live_session_ids

    return await live_session_ids(conn, session_ids, now=now)


async def active_devices(conn: AsyncConnection, wallet: str) -> set[str]:
    return {d.lower() for d in await active_device_ids(conn, wallet)}


async def active_devices_many(conn: AsyncConnection, wallets: list[str]) -> dict[str, set[str]]:
    return {w: {d.lower() for d in ids} for w, ids in (await active_device_ids_many(conn, wallets)).items()}


class DeviceCache:
    """Active device sets per wallet, reused for ``ttl`` seconds by the message store.

    The store trusts a cached set only to *accept* an envelope: whenever an envelope does not match
    (unknown or missing devices, unknown sender device) the sets are read again inside the same
    transaction before it is refused, so a device registered a moment ago is never refused. What a
    stale set can do is accept, for at most ``ttl``, an envelope that leaves out a device registered
    within that window (that device then misses that message), or one still addressed to a device
    revoked within it.
    """

    def __init__(self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._sets: dict[str, tuple[float, set[str]]] = {}

    async def get(self, conn: AsyncConnection, wallet: str, *, fresh: bool = False) -> set[str]:
        now = self._clock()
        hit = self._sets.get(wallet)
        if hit is not None and not fresh and now - hit[0] < self.ttl:
            return hit[1]
        devices = await active_devices(conn, wallet)
        if len(self._sets) > 50_000:
            self._sets.clear()
        self._sets[wallet] = (now, devices)
        return devices

    async def get_many(self, conn: AsyncConnection, wallets: list[str]) -> dict[str, set[str]]:
        """``get`` for several wallets: the expired or missing sets are read in one query."""
        now = self._clock()
        out: dict[str, set[str]] = {}
        stale: list[str] = []
        for wallet in wallets:
            hit = self._sets.get(wallet)
            if hit is not None and now - hit[0] < self.ttl:
                out[wallet] = hit[1]
            else:
                stale.append(wallet)
        if stale:
            found = await active_devices_many(conn, stale)
            if len(self._sets) > 50_000:
                self._sets.clear()
            for wallet in stale:
                devices = found[wallet]
                self._sets[wallet] = (now, devices)
                out[wallet] = devices
        return out


async def note_message_sent(conn: AsyncConnection, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
    """Referral activation (social): called inside the message-store transaction."""
    await referrals_service.note_message_sent(conn, sender=sender, conversation_accepted=conversation_accepted, at=at)


class ReferralNotes:
    """Senders for whom :func:`note_message_sent` can no longer do anything, kept by the message
    writer so that a batch reads the referral state only of the senders it may still concern.

    The rule acts on a message only while its sender is an invitee (``referred_by`` set — only ever
    in the transaction that registers the account) who is not yet activated (``activated_at`` is set
    once and never cleared; accounts are never deleted). A sender without a referrer, or already
    activated, is therefore settled for good, in every process; anyone else goes through the
    referrals service on every batch, as before. Only committed states are remembered: a state read
    in this transaction was not written by it (the note runs once per sender and transaction).
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._settled: set[str] = set()

    def settled(self, sender: str) -> bool:
        """True once a note for ``sender`` can no longer do anything (a message needs none)."""
        return sender in self._settled

    async def note(self, conn: AsyncConnection, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
        if not conversation_accepted or sender in self._settled:
            return  # the service returns at once for a message outside an accepted conversation
        state = await referrals_repository.referral_state(conn, sender)
        if state is not None and (state["referred_by"] is None or state["activated_at"] is not None):
            if len(self._settled) >= self._limit:
                self._settled.clear()
            self._settled.add(sender)
            return
        await note_message_sent(conn, sender=sender, conversation_accepted=conversation_accepted, at=at)


def users_table() -> Any:
    """The profiles table, for searching the inbox by the peer's display name."""
    return users


async def account_exists(conn: AsyncConnection, wallet: str) -> bool:
    row = (await conn.execute(select(users.c.wallet).where(users.c.wallet == wallet))).first()
    return row is not None
