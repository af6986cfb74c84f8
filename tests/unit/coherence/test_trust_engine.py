"""The engine: what it derives, and that batch-by-batch application with partial state loading
(the live projection) gives exactly what one pass over the whole ledger (replay) gives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.coherence.engine import (
    TrustEngine,
    TrustState,
    all_rows,
    award_sources,
    batch_wallets,
    changed_rows,
    state_from_rows,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class E:
    seq: int
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class Ledger:
    def __init__(self) -> None:
        self.entries: list[E] = []

    def add(self, event_type: str, actor: str, hours: int = 0, **payload: Any) -> E:
        seq = len(self.entries)
        ts = (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        e = E(seq, event_type, actor, payload, ts)
        self.entries.append(e)
        return e


def _replay(entries: list[E]) -> TrustState:
    engine = TrustEngine(TrustState())
    engine.apply(entries)
    return engine.state


def test_referral_and_points_flow() -> None:
    led = Ledger()
    led.add("USER_REGISTERED", "alice", chain="eip155:1", referral_code="AAAA0000")
    led.add("USER_REGISTERED", "bob", 1, chain="eip155:1", referral_code="BBBB0000")
    led.add("REFERRAL_ACCEPTED", "bob", 1, referrer="alice", invitee="bob", code="AAAA0000")
    act = led.add("REFERRAL_ACTIVATED", "bob", 30, referrer="alice", invitee="bob")
    led.add("POINTS_AWARDED", "system", 30, wallet="alice", points=100, reason="referral_activated",
            rule_version=1, source_event_id=act.event_id)
    led.add("POINTS_AWARDED", "system", 30, wallet="bob", points=50, reason="referral_welcome",
            rule_version=1, source_event_id=act.event_id)
    led.add("POINTS_AWARDED", "mallory", 30, wallet="mallory", points=10**6, reason="x",
            rule_version=1, source_event_id=act.event_id)  # not from the server: ignored
    led.add("REFERRAL_ACCEPTED", "bob", 31, referrer="carol", invitee="bob", code="CCCC0000")  # second: ignored
    state = _replay(led.entries)
    assert state.balances["alice"].balance == 100
    assert state.balances["bob"].balance == 50
    assert "mallory" not in state.balances
    assert state.awards[4].source_seq == 3
    assert state.edges["bob"].referrer == "alice"
    assert state.edges["bob"].activated_seq == 3
    alice = state.breakdown("alice")
    assert alice is not None
    assert alice.as_of_seq == 4
    assert alice.terms[2].value == 300
    assert alice.terms[2].seqs == (3,)
    assert alice.terms[0].count == 1  # 30 hours of ledger time


def test_reciprocity_devices_and_blocks() -> None:
    led = Ledger()
    for w in ("a", "b", "c"):
        led.add("USER_REGISTERED", w, chain="eip155:1", referral_code="X")
    led.add("DEVICE_REGISTERED", "a", device_id="d1", identity_key_hash="h")
    led.add("DEVICE_REGISTERED", "a", device_id="d1", identity_key_hash="h")  # republish: same device
    led.add("DEVICE_REGISTERED", "a", device_id="d2", identity_key_hash="h")
    led.add("DEVICE_REVOKED", "a", device_id="d2")
    led.add("CONVERSATION_STARTED", "a", conversation_hash="c1", peer="b")
    led.add("MESSAGE_SENT", "a", conversation_hash="c1", peer="b", seq=1, size_bucket=1, envelope_hash="x")
    s = _replay(led.entries)
    b = s.breakdown("a")
    assert b is not None
    assert b.terms[1].count == 0
    assert b.terms[3].count == 1
    assert b.terms[3].seqs == (3,)
    led.add("CONVERSATION_STATE_CHANGED", "b", conversation_hash="c1", peer="a", state="accepted")
    led.add("MESSAGE_SENT", "b", conversation_hash="c1", peer="a", seq=2, size_bucket=1, envelope_hash="y")
    s = _replay(led.entries)
    b = s.breakdown("a")
    assert b is not None
    assert b.terms[1].count == 1
    assert b.terms[1].seqs == (8, 9, 10)
    led.add("CONVERSATION_STATE_CHANGED", "c", conversation_hash="c2", peer="a", state="blocked")
    led.add("CONVERSATION_STATE_CHANGED", "b", conversation_hash="c1", peer="a", state="blocked")
    s = _replay(led.entries)
    b = s.breakdown("a")
    assert b is not None
    assert b.terms[1].count == 0
    assert b.terms[4].count == 2
    assert b.terms[4].seqs == (11, 12)
    assert s.accounts["a"].score == b.score
    assert s.accounts["a"].as_of_seq == 12


WALLETS = ["w0", "w1", "w2", "w3", "w4"]


@st.composite
def ledgers(draw: st.DrawFn) -> list[E]:
    led = Ledger()
    activations: list[E] = []
    n = draw(st.integers(5, 60))
    for i in range(n):
        kind = draw(st.sampled_from(["reg", "ref", "act", "award", "dev", "rev", "acc", "blk", "msg", "login"]))
        a, p = draw(st.sampled_from(WALLETS)), draw(st.sampled_from(WALLETS))
        h = i * draw(st.integers(0, 30))
        if kind == "reg":
            led.add("USER_REGISTERED", a, h, chain="eip155:1", referral_code="X")
        elif kind == "ref":
            led.add("REFERRAL_ACCEPTED", a, h, referrer=p, invitee=a, code="C")
        elif kind == "act":
            activations.append(led.add("REFERRAL_ACTIVATED", a, h, referrer=p, invitee=a))
        elif kind == "award" and activations:
            src = draw(st.sampled_from(activations))
            led.add("POINTS_AWARDED", "system", h, wallet=a, points=draw(st.integers(0, 100)),
                    reason="r", rule_version=1, source_event_id=src.event_id)
        elif kind == "dev":
            led.add("DEVICE_REGISTERED", a, h, device_id=draw(st.sampled_from(["d1", "d2", "d3"])), identity_key_hash="h")
        elif kind == "rev":
            led.add("DEVICE_REVOKED", a, h, device_id=draw(st.sampled_from(["d1", "d2", "d3"])))
        elif kind in ("acc", "blk"):
            led.add("CONVERSATION_STATE_CHANGED", a, h, conversation_hash="c", peer=p,
                    state="accepted" if kind == "acc" else "blocked")
        elif kind == "msg":
            led.add("MESSAGE_SENT", a, h, conversation_hash="c", peer=p, seq=1, size_bucket=1, envelope_hash="e")
        else:
            led.add("LOGIN", a, h, chain="eip155:1", session_hash="s")
    return led.entries


@settings(max_examples=80, deadline=None)
@given(entries=ledgers(), cuts=st.lists(st.integers(1, 60), max_size=8))
def test_batched_live_projection_equals_replay(entries: list[E], cuts: list[int]) -> None:
    # The "database": full rows per table, updated only through changed_rows().
    db: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {k: {} for k in all_rows(TrustState())}
    keys = {
        "coherence_scores": ("wallet",),
        "coherence_links": ("wallet", "peer"),
        "coherence_devices": ("wallet", "device_id"),
        "referral_edges": ("invitee",),
        "points_awards": ("seq",),
        "points_balances": ("wallet",),
    }
    ledger_index = {e.event_id: e.seq for e in entries}
    bounds = sorted({c for c in cuts if c < len(entries)} | {0, len(entries)})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        batch = entries[lo:hi]
        ws = batch_wallets(batch)
        state = state_from_rows(
            accounts=[r for r in db["coherence_scores"].values() if r["wallet"] in ws],
            links=[r for r in db["coherence_links"].values() if r["wallet"] in ws or r["peer"] in ws],
            devices=[r for r in db["coherence_devices"].values() if r["wallet"] in ws],
            edges=[r for r in db["referral_edges"].values() if r["invitee"] in ws or r["referrer"] in ws],
            balances=[r for r in db["points_balances"].values() if r["wallet"] in ws],
        )
        pre = {eid: ledger_index[eid] for eid in award_sources(batch) if ledger_index[eid] < lo}
        engine = TrustEngine(state, resolve_seq=pre.get)
        changes = engine.apply(batch)
        for table, rows in changed_rows(state, changes).items():
            for row in rows:
                db[table][tuple(row[k] for k in keys[table])] = row
    assert db == all_rows(_replay(entries))


@settings(max_examples=60, deadline=None)
@given(entries=ledgers(), page=st.integers(1, 20))
def test_paged_replay_without_flush_equals_one_pass(entries: list[E], page: int) -> None:
    engine = TrustEngine(TrustState())
    for i in range(0, len(entries), page):
        engine.apply(entries[i : i + page], flush=False)
    engine.flush()
    assert all_rows(engine.state) == all_rows(_replay(entries))
