"""The replay comparator and the rule check, on in-memory ledgers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas.coherence.engine import TrustEngine, TrustState, all_rows
from atlas.coherence.replay import AwardRules, compare, read_export


@dataclass
class E:
    seq: int
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str = "2026-01-01T00:00:00.000Z"
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _ledger(referrer_points: int = 100) -> list[E]:
    act = E(3, "REFERRAL_ACTIVATED", "b", {"referrer": "a", "invitee": "b"})
    return [
        E(0, "USER_REGISTERED", "a", {}),
        E(1, "USER_REGISTERED", "b", {}),
        E(2, "REFERRAL_ACCEPTED", "b", {"referrer": "a", "invitee": "b", "code": "C"}),
        act,
        E(4, "POINTS_AWARDED", "system", {"wallet": "a", "points": referrer_points, "reason": "referral_activated",
                                          "rule_version": 1, "source_event_id": act.event_id}),
        E(5, "POINTS_AWARDED", "system", {"wallet": "b", "points": 50, "reason": "referral_welcome",
                                          "rule_version": 1, "source_event_id": act.event_id}),
    ]


def _rows(entries: list[E]) -> Any:
    engine = TrustEngine(TrustState())
    engine.apply(entries)
    return all_rows(engine.state)


def test_identical_rows_have_no_drift() -> None:
    entries = _ledger()
    assert compare(_rows(entries), _rows(entries)) == []


def test_tampered_cell_and_rows_are_named() -> None:
    entries = _ledger()
    live = _rows(entries)
    live["points_balances"][("a",)]["balance"] = 1_000_000
    del live["referral_edges"][("b",)]
    live["coherence_scores"][("zz",)] = dict(live["coherence_scores"][("a",)], wallet="zz")
    drifts = {d.describe() for d in compare(live, _rows(entries))}
    assert "points_balances[a].balance: live=1000000 replayed=100" in drifts
    assert "referral_edges[b]: row missing from the live table" in drifts
    assert "coherence_scores[zz]: row not produced by the ledger" in drifts
    assert len(drifts) == 3


def test_rules_accept_the_table_and_flag_deviations() -> None:
    rules = AwardRules()
    for e in _ledger():
        rules.feed(e)
    assert rules.finish(last_seq=5) == []
    rules = AwardRules()
    for e in _ledger(referrer_points=500):
        rules.feed(e)
    problems = rules.finish(last_seq=5)
    assert len(problems) == 1
    assert "rules say 100" in problems[0]
    rules = AwardRules()
    for e in _ledger()[:4]:  # activation without awards
        rules.feed(e)
    assert rules.finish(last_seq=3) == []  # the awards may still be on their way
    assert len(rules.finish(last_seq=500)) == 2  # long after: they are missing


def test_read_export(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    entries = _ledger()
    lines = [
        {"seq": e.seq, "event_id": e.event_id, "event_type": e.event_type, "actor": e.actor, "payload": e.payload,
         "timestamp": e.timestamp, "prev_hash": "0" * 64, "hash": "0" * 64}
        for e in entries
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    got = list(read_export(path))
    assert [g.seq for g in got] == list(range(6))
    assert compare(_rows(got), _rows(entries)) == []
