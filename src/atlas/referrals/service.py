"""Referrals: acceptance at first sign-in, activation on the invitee's first real conversation.

Interfaces other domains call inside their own transactions:
- sign-in: :func:`accept_at_signup`
- chat: :func:`note_message_sent`

A referral is accepted only at the invitee's first sign-in, once, never from oneself and never
closing a cycle. It *pays* only when the invitee activates — a display name and a first message in
an accepted conversation, in either order — and the awards are emitted as ``POINTS_AWARDED`` events
in the activation's own transaction, each naming the ``REFERRAL_ACTIVATED`` event that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.events.models import SYSTEM_ACTOR, Event, PointsAwarded, ReferralAccepted, ReferralActivated
from atlas.events.outbox import emit
from atlas.points.rules import (
    INVITEE_AWARD,
    REASON_REFERRAL_ACTIVATED,
    REASON_REFERRAL_WELCOME,
    RULE_VERSION,
    referrer_award,
)
from atlas.referrals import repository
from atlas.referrals.codes import normalize_code
from atlas.referrals.errors import CursorInvalid

MAX_TREE_DEPTH = 3


@dataclass(frozen=True)
class ReferralResult:
    accepted: bool
    reason: str | None = None  # a stable code when not accepted, e.g. "unknown_code", "self_referral"
    referrer: str | None = None


async def accept_at_signup(conn: AsyncConnection, *, invitee: str, code: str, at: datetime) -> ReferralResult:
    """Called by sign-in, inside its transaction, only on an account's first sign-in.

    Never raises for a bad code: the reason is returned so sign-in can report it and carry on.
    """
    normalized = normalize_code(code)
    if normalized is None:
        return ReferralResult(False, "unknown_code")
    owner = await repository.user_by_code(conn, normalized)
    if owner is None:
        return ReferralResult(False, "unknown_code")
    referrer = str(owner["wallet"])
    if referrer == invitee:
        return ReferralResult(False, "self_referral")
    me = await repository.referral_state(conn, invitee)
    if me is None:
        return ReferralResult(False, "unknown_invitee")
    if me["referred_by"] is not None:
        return ReferralResult(False, "already_referred")
    if await repository.is_ancestor(conn, candidate=invitee, of=referrer):
        return ReferralResult(False, "cycle")
    if not await repository.set_referrer(conn, invitee=invitee, referrer=referrer, at=at):
        return ReferralResult(False, "already_referred")
    await emit(conn, [ReferralAccepted(actor=invitee, referrer=referrer, invitee=invitee, code=normalized)], at=at)
    return ReferralResult(True, None, referrer)


async def note_message_sent(conn: AsyncConnection, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
    """Called by chat inside its message-store transaction for every stored message.

    Activates the sender's referral when the sender is a not-yet-activated invitee with a display
    name writing in an accepted conversation (emitting ReferralActivated and the PointsAwarded events
    in the same transaction). Cheap when there is nothing to do: one primary-key read.
    """
    if not conversation_accepted:
        return
    state = await repository.referral_state(conn, sender)
    if state is None or state["referred_by"] is None or state["activated_at"] is not None:
        return
    if state["display_name"] is None:
        await repository.note_progress(conn, wallet=sender, at=at)
        return
    await activate(conn, invitee=sender, at=at)


async def note_display_name_set(conn: AsyncConnection, *, wallet: str, at: datetime) -> bool:
    """Profile update hook: a name set after the first accepted-conversation message activates."""
    state = await repository.referral_state(conn, wallet)
    if state is None or state["referred_by"] is None or state["activated_at"] is not None:
        return False
    if not await repository.has_progress(conn, wallet):
        return False
    return await activate(conn, invitee=wallet, at=at)


async def activate(conn: AsyncConnection, *, invitee: str, at: datetime) -> bool:
    """Mark the invitee active and pay the referral, exactly once."""
    referrer = await repository.mark_activated(conn, invitee=invitee, at=at)
    if referrer is None:
        return False
    await repository.lock_user(conn, referrer)
    nth = await repository.count_activated(conn, referrer)
    activated = ReferralActivated(actor=invitee, referrer=referrer, invitee=invitee)
    events: list[Event] = [activated]
    points = referrer_award(nth)
    if points > 0:
        events.append(
            PointsAwarded(
                actor=SYSTEM_ACTOR,
                wallet=referrer,
                points=points,
                reason=REASON_REFERRAL_ACTIVATED,
                rule_version=RULE_VERSION,
                source_event_id=activated.event_id,
            )
        )
    events.append(
        PointsAwarded(
            actor=SYSTEM_ACTOR,
            wallet=invitee,
            points=INVITEE_AWARD,
            reason=REASON_REFERRAL_WELCOME,
            rule_version=RULE_VERSION,
            source_event_id=activated.event_id,
        )
    )
    await emit(conn, events, at=at)
    await repository.clear_progress(conn, invitee)
    return True


async def lookup_code(conn: AsyncConnection, raw: str) -> dict[str, Any] | None:
    code = normalize_code(raw)
    if code is None:
        return None
    return await repository.user_by_code(conn, code)


async def referral_tree(
    conn: AsyncConnection, *, wallet: str, depth: int, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The tree below ``wallet``, breadth first, paged in (depth, invitee) order."""
    after: tuple[int, str] | None = None
    if cursor:
        d, sep, w = cursor.partition(":")
        if not sep or not d.isdigit() or not w:
            raise CursorInvalid("Malformed cursor.")
        after = (int(d), w)
    nodes: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    frontier = [wallet]
    seen = {wallet}
    for level in range(1, depth + 1):
        if not frontier:
            break
        children = [c for c in await repository.children_of(conn, frontier) if c["invitee"] not in seen]
        seen.update(c["invitee"] for c in children)
        counts[str(level)] = {
            "accepted": len(children),
            "activated": sum(1 for c in children if c["activated_seq"] is not None),
        }
        for c in children:
            c["depth"] = level
        nodes += children
        frontier = [c["invitee"] for c in children]
    nodes.sort(key=lambda n: (n["depth"], n["invitee"]))
    if after is not None:
        nodes = [n for n in nodes if (n["depth"], n["invitee"]) > after]
    page = nodes[:limit]
    sub_counts = await repository.counts_by_referrer(conn, [n["invitee"] for n in page])
    items = [
        {
            "wallet": n["invitee"],
            "referrer": n["referrer"],
            "depth": n["depth"],
            "display_name": n["display_name"],
            "accepted_seq": n["accepted_seq"],
            "accepted_at": n["accepted_at"],
            "activated": n["activated_seq"] is not None,
            "activated_seq": n["activated_seq"],
            "activated_at": n["activated_at"],
            "referral_count": sub_counts.get(n["invitee"], 0),
        }
        for n in page
    ]
    direct = counts.get("1", {"accepted": 0, "activated": 0})
    return {
        "wallet": wallet,
        "depth": depth,
        "referral_count": direct["accepted"],
        "activated_count": direct["activated"],
        "counts_by_depth": counts,
        "items": items,
        "next_cursor": f"{page[-1]['depth']}:{page[-1]['invitee']}" if len(nodes) > limit else None,
    }
