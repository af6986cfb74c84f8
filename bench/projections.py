"""Projection throughput and profile read throughput.

1. Ledger entries/s replayed into points + referral graph + coherence (the pure engine ``atlas replay``
   and the live projection share), over a synthetic ledger shaped like real traffic (mostly
   messages, with registrations, logins, devices, conversations, referrals and awards).
2. ``GET /v1/users/{wallet}`` requests/s against one real uvicorn worker, driven over loopback by a
   separate process with a bounded number of concurrent connections and a fixed duration.

Usage: .venv/bin/python bench/projections.py [--quick]   → prints one JSON object.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from atlas.coherence.engine import TrustEngine, TrustState


@dataclass
class Entry:
    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str


def synthetic_ledger(n: int, wallets: int, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Entry] = []
    users = [f"0x{rng.getrandbits(160):040x}" for _ in range(wallets)]
    registered: list[str] = []
    referred: set[str] = set()
    activations: list[tuple[str, str, str]] = []

    def add(event_type: str, actor: str, **payload: Any) -> Entry:
        seq = len(out)
        ts = (t0 + timedelta(seconds=seq * 7)).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"
        e = Entry(seq, str(uuid.UUID(int=rng.getrandbits(128))), event_type, actor, payload, ts)
        out.append(e)
        return e

    while len(out) < n:
        r = rng.random()
        if len(registered) < wallets and (r < 0.05 or len(registered) < 10):
            w = users[len(registered)]
            registered.append(w)
            add("USER_REGISTERED", w, chain="eip155:1", referral_code="X")
            if len(registered) > 1 and rng.random() < 0.6:
                ref = rng.choice(registered[:-1])
                add("REFERRAL_ACCEPTED", w, referrer=ref, invitee=w, code="X")
                referred.add(w)
                activations.append((ref, w, ""))
            continue
        a, b = rng.choice(registered), rng.choice(registered)
        if a == b:
            continue
        if r < 0.10:
            add("LOGIN", a, chain="eip155:1", session_hash="s")
        elif r < 0.13:
            add("DEVICE_REGISTERED", a, device_id=str(rng.randrange(4)), identity_key_hash="h")
        elif r < 0.15:
            add("CONVERSATION_STARTED", a, conversation_hash="c", peer=b)
        elif r < 0.18:
            add("CONVERSATION_STATE_CHANGED", a, conversation_hash="c", peer=b,
                state="accepted" if rng.random() < 0.9 else "blocked")
        elif r < 0.20 and activations:
            ref, inv, _ = activations.pop(rng.randrange(len(activations)))
            act = add("REFERRAL_ACTIVATED", inv, referrer=ref, invitee=inv)
            add("POINTS_AWARDED", "system", wallet=ref, points=100, reason="referral_activated",
                rule_version=1, source_event_id=act.event_id)
            add("POINTS_AWARDED", "system", wallet=inv, points=50, reason="referral_welcome",
                rule_version=1, source_event_id=act.event_id)
        else:
            add("MESSAGE_SENT", a, conversation_hash="c", peer=b, seq=1, size_bucket=1, envelope_hash="e")
    return out[:n]


def bench_replay(n: int, wallets: int, batch: int) -> dict[str, Any]:
    entries = synthetic_ledger(n, wallets)
    best = 0.0
    for _ in range(3):
        engine = TrustEngine(TrustState())
        start = time.perf_counter()
        for i in range(0, len(entries), batch):
            engine.apply(entries[i : i + batch])
        elapsed = time.perf_counter() - start
        best = max(best, len(entries) / elapsed)
    return {
        "entries": len(entries),
        "wallets": wallets,
        "batch": batch,
        "entries_per_s": round(best),
        "target_entries_per_s": 50_000,
        "awards": len(engine.state.awards),
        "scored_wallets": len(engine.state.accounts),
    }


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    result: dict[str, Any] = {"replay": bench_replay(50_000 if quick else 300_000, 2_000 if quick else 10_000, 5_000)}
    if "--no-http" not in argv:
        from bench_http_profiles import bench_profiles  # type: ignore[import-not-found]  # sibling script

        result["get_user"] = bench_profiles(quick=quick)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
