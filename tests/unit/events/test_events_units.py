"""Pure parts of the event bridge: message codec, feed contiguity, the projection registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas.events.codec import decode, encode_event
from atlas.events.ledger_port import FeedEntry, entry_fields, entry_time, feed_entry, new_entry
from atlas.events.models import CATALOGUE, ContentAction, PointsAwarded
from atlas.events.projections import (
    ProjectionRegistry,
    UnknownProjectionError,
    _contiguous,
    register_projection,
)
from atlas.kit.canonical import canonical_str
from atlas.ledger import LedgerEntry, NewEntry

_text = st.text(min_size=1, max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(event_id=_text, event_type=_text, actor=_text, payload=st.dictionaries(st.text(max_size=5), _json, max_size=4))
def test_event_message_round_trips(event_id: str, event_type: str, actor: str, payload: dict[str, Any]) -> None:
    fields = encode_event(
        outbox_id=7, event_id=event_id, event_type=event_type, actor=actor,
        payload_json=canonical_str(payload), occurred_at="2026-01-01T00:00:00+00:00",
    )
    assert list(fields) == ["e"]
    assert decode(fields) == {
        "outbox_id": 7, "event_id": event_id, "event_type": event_type, "actor": actor,
        "occurred_at": "2026-01-01T00:00:00+00:00", "payload": payload,
    }


def test_ledger_entry_message_rebuilds_the_ledgers_own_type() -> None:
    entry = LedgerEntry(3, "ev", "LOGIN", "0xabc", {"b": 1, "a": "x"}, "2026-01-01T00:00:00.000Z", "0" * 64, "f" * 64)
    again = feed_entry(entry_fields(entry))
    assert isinstance(again, LedgerEntry)
    assert again == entry
    assert entry_time(again) == datetime(2026, 1, 1, tzinfo=UTC)


def test_new_entry_is_the_ledgers_type() -> None:
    item = new_entry(event_id="e", event_type="T", actor="a", payload={}, timestamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(item, NewEntry)


def test_malformed_messages_raise() -> None:
    with pytest.raises(KeyError):
        decode({"x": "1"})
    with pytest.raises(ValueError, match="JSON"):
        decode({"e": "[1]"})


def _fe(seq: int) -> FeedEntry:
    return FeedEntry(seq, f"e{seq}", "T", "a", {}, "2026-01-01T00:00:00.000Z", "", "")


def test_feed_hands_over_only_the_contiguous_run_after_the_offset() -> None:
    assert [e.seq for e in _contiguous([_fe(3), _fe(4), _fe(6)], 2)] == [3, 4]
    assert _contiguous([_fe(4), _fe(5)], 2) == []  # a gap right away: nothing
    assert _contiguous([], 2) == []


def test_projection_names_are_unique_and_lookups_name_what_exists() -> None:
    class Rt:
        services: dict[str, Any] = {}

    rt: Any = Rt()

    async def handler(conn: Any, entries: list[Any]) -> None:
        return None

    register_projection(rt, "points", handler)
    with pytest.raises(ValueError, match="already registered"):
        register_projection(rt, "points", handler)
    with pytest.raises(ValueError, match="1 to 64"):
        register_projection(rt, "", handler)
    reg: ProjectionRegistry = rt.services["projections"]
    assert reg.get("points").handler is handler
    with pytest.raises(UnknownProjectionError, match="registered: points"):
        reg.get("coherence")


def test_catalogue_payloads_are_canonical_and_float_free() -> None:
    assert "CONTENT_ACTION" in CATALOGUE
    award = PointsAwarded(actor="system", wallet="0xabc", points=10, reason="signup", rule_version=1, source_event_id="x")
    assert json.loads(canonical_str(award.payload())) == award.payload()
    assert "type" not in award.payload()
    assert ContentAction(actor="0xabc", data={"k": 1}).payload() == {"k": 1}
