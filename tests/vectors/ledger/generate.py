"""Regenerates the committed ledger test vectors: ``python tests/vectors/ledger/generate.py``.

Everything is deterministic (fixed ids, times and key seed), so the unit tests can check that the
committed files still equal what the code produces.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from atlas.ledger import merkle
from atlas.ledger.checkpoint import LogSigner
from atlas.ledger.entries import ZERO_HASH, NewEntry, body_str, entry_hash, export_str, prepare

HERE = Path(__file__).resolve().parent
ORIGIN = "example.test/genesis"
SEED = bytes(range(32))  # a published test key: never use it for a real log
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20


def items() -> list[NewEntry]:
    def at(i: int) -> datetime:
        return T0 + timedelta(seconds=i, milliseconds=7 * i)

    payloads: list[tuple[str, str, dict[str, Any]]] = [
        ("USER_REGISTERED", ALICE, {"type": "USER_REGISTERED", "chain": "eip155:1", "referral_code": "ALICE123"}),
        ("LOGIN", ALICE, {"type": "LOGIN", "chain": "eip155:1", "session_hash": "ab" * 32}),
        ("USER_REGISTERED", BOB, {"type": "USER_REGISTERED", "chain": "eip155:1", "referral_code": "BOB45678"}),
        ("REFERRAL_ACCEPTED", BOB, {"type": "REFERRAL_ACCEPTED", "referrer": ALICE, "invitee": BOB, "code": "ALICE123"}),
        ("POINTS_AWARDED", "system", {"type": "POINTS_AWARDED", "wallet": ALICE, "points": 50, "reason": "referral",
                                      "rule_version": 1, "source_event_id": "00000000-0000-4000-8000-000000000003"}),
        ("CONTENT_ACTION", BOB, {"note": "héllo \u2028 \U0001f600", "€": 1, "a": [1, -2, "x"], "nested": {"z": None, "b": True}}),
        ("MESSAGE_SENT", ALICE, {"type": "MESSAGE_SENT", "conversation_hash": "cd" * 32, "peer": BOB, "seq": 1,
                                 "size_bucket": 256, "envelope_hash": "ef" * 32}),
        ("POINTS_AWARDED", "system", {"type": "POINTS_AWARDED", "wallet": BOB, "points": 9007199254740991,
                                      "reason": "max-safe-integer", "rule_version": 1,
                                      "source_event_id": "00000000-0000-4000-8000-000000000006"}),
    ]
    return [
        NewEntry(f"00000000-0000-4000-8000-{i:012d}", etype, actor, payload, at(i))
        for i, (etype, actor, payload) in enumerate(payloads)
    ]


def build() -> dict[str, str]:
    prev = ZERO_HASH
    lines: list[str] = []
    leaves: list[bytes] = []
    hashes: list[str] = []
    for seq, item in enumerate(items()):
        p = prepare(item)
        body = body_str(seq, p, prev).encode()
        h = entry_hash(body)
        lines.append(export_str(seq, p, prev, h))
        leaves.append(merkle.leaf_hash(body))
        hashes.append(h)
        prev = h
    nodes: dict[tuple[int, int], bytes] = {}
    f = merkle.Frontier()
    for leaf in leaves:
        created: list[tuple[int, int, bytes]] = []
        f.push(leaf, created)
        nodes.update({(lvl, idx): h for lvl, idx, h in created})

    def get(lvl: int, idx: int) -> bytes:
        return nodes[(lvl, idx)]

    n = len(leaves)
    signer = LogSigner(ORIGIN, SEED)
    expected = {
        "origin": ORIGIN,
        "seed_hex": SEED.hex(),
        "public_key_hex": signer.public_key.hex(),
        "verifier_key": signer.verifier_key,
        "size": n,
        "entry_hashes": hashes,
        "leaf_hashes": [leaf.hex() for leaf in leaves],
        "roots": {str(m): merkle.tree_root(get, m).hex() for m in range(0, n + 1)},
        "inclusion": [
            {"seq": i, "tree_size": m, "path": [x.hex() for x in merkle.inclusion_path(get, i, m)]}
            for m in (1, 5, 8) for i in range(m)
        ],
        "consistency": [
            {"first": a, "second": b, "path": [x.hex() for x in merkle.consistency_path(get, a, b)]}
            for a, b in ((1, 8), (3, 7), (4, 8), (5, 8), (8, 8))
        ],
    }
    return {
        "export.jsonl": "".join(line + "\n" for line in lines),
        "checkpoint.txt": signer.sign(n, merkle.tree_root(get, n)),
        "verifier_key.txt": signer.verifier_key + "\n",
        "expected.json": json.dumps(expected, indent=2, ensure_ascii=False) + "\n",
    }


if __name__ == "__main__":
    for name, text in build().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print("wrote", HERE / name)
