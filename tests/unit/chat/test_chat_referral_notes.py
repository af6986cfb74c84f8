"""The writer's referral notes: settled senders skip the read, everyone else reaches the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from atlas.chat import ports

AT = datetime(2026, 1, 1, tzinfo=UTC)


async def test_only_unsettled_senders_reach_the_referral_service(monkeypatch: pytest.MonkeyPatch) -> None:
    states: dict[str, dict[str, Any] | None] = {
        "no_referrer": {"referred_by": None, "activated_at": None, "display_name": "n"},
        "activated": {"referred_by": "r", "activated_at": AT, "display_name": "a"},
        "invitee": {"referred_by": "r", "activated_at": None, "display_name": None},
        "missing": None,
    }
    reads: list[str] = []
    noted: list[str] = []

    async def referral_state(conn: Any, wallet: str) -> dict[str, Any] | None:
        reads.append(wallet)
        return states[wallet]

    async def note_message_sent(conn: Any, *, sender: str, conversation_accepted: bool, at: datetime) -> None:
        noted.append(sender)

    monkeypatch.setattr(ports.referrals_repository, "referral_state", referral_state)
    monkeypatch.setattr(ports.referrals_service, "note_message_sent", note_message_sent)
    notes = ports.ReferralNotes()
    for _ in range(3):
        for wallet in states:
            await notes.note(None, sender=wallet, conversation_accepted=True, at=AT)  # type: ignore[arg-type]  # fakes ignore conn
    await notes.note(None, sender="invitee", conversation_accepted=False, at=AT)  # type: ignore[arg-type]
    assert reads.count("no_referrer") == reads.count("activated") == 1, "settled for good after one read"
    assert noted == ["invitee", "missing"] * 3, "an unsettled sender goes through the service every time"
