"""The §3 encoding: bodies are exactly RFC 8785, export lines verify, and every corruption is caught."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.kit.canonical import CanonicalError, canonical_bytes
from atlas.ledger import merkle
from atlas.ledger.checkpoint import CheckpointError, LogSigner, Verifier, open_checkpoint
from atlas.ledger.entries import ZERO_HASH, LedgerEntry, NewEntry, body_str, entry_hash, export_str, prepare
from atlas.ledger.verify import check_checkpoint, verify_file, verify_lines

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ledger"
sys.path.insert(0, str(VECTORS))
import generate  # noqa: E402 - the vector generator lives next to its vectors

T = datetime(2026, 11, 26, 7, 0, 0, 123456, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)


def chain(payloads: list[dict[str, Any]]) -> list[bytes]:
    prev, out = ZERO_HASH, []
    for seq, payload in enumerate(payloads):
        p = prepare(NewEntry(f"ev-{seq}", "CONTENT_ACTION", "0xabc", payload, T))
        body = body_str(seq, p, prev).encode()
        h = entry_hash(body)
        out.append(export_str(seq, p, prev, h).encode() + b"\n")
        prev = h
    return out


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6), st.text(min_size=1, max_size=20), st.text())
def test_body_is_exactly_rfc8785(payload: dict[str, Any], event_id: str, actor: str) -> None:
    try:
        p = prepare(NewEntry(event_id[:64], "CONTENT_ACTION", actor, payload, T))
    except (CanonicalError, ValueError):
        return  # lone surrogates are refused, as the contract requires
    body = {
        "seq": 3, "event_id": p.event_id, "event_type": "CONTENT_ACTION", "actor": actor, "payload": payload,
        "timestamp": p.timestamp, "prev_hash": ZERO_HASH,
    }
    assert body_str(3, p, ZERO_HASH).encode() == canonical_bytes(body)
    line = export_str(3, p, ZERO_HASH, "ab" * 32).encode()
    assert line == canonical_bytes({**body, "hash": "ab" * 32})
    entry = LedgerEntry(3, p.event_id, "CONTENT_ACTION", actor, payload, p.timestamp, ZERO_HASH, "ab" * 32)
    assert entry.export_line() == line
    assert entry.canonical_body() == canonical_bytes(entry.body())


def test_prepare_refuses_floats_and_big_integers_and_reads_naive_times_as_utc() -> None:
    with pytest.raises(CanonicalError):
        prepare(NewEntry("e", "X", "a", {"x": 1.5}, T))
    with pytest.raises(CanonicalError):
        prepare(NewEntry("e", "X", "a", {"x": 2**53}, T))
    naive = datetime(2026, 1, 1, 5, 6, 7)  # noqa: DTZ001 - SQLite returns naive UTC datetimes
    assert prepare(NewEntry("e", "X", "a", {}, naive)).timestamp == "2026-01-01T05:06:07.000Z"
    assert prepare(NewEntry("e", "X", "a", {}, T)).timestamp == "2026-11-26T07:00:00.123Z"


def test_committed_vectors_are_what_the_code_produces() -> None:
    for name, text in generate.build().items():
        assert (VECTORS / name).read_text(encoding="utf-8") == text, f"{name} drifted: rerun generate.py"


def test_committed_export_and_checkpoint_verify() -> None:
    with (VECTORS / "export.jsonl").open("rb") as fh:
        result = verify_file(fh)
    note = (VECTORS / "checkpoint.txt").read_text()
    key = (VECTORS / "verifier_key.txt").read_text().strip()
    result = check_checkpoint(result, note, key)
    assert result.ok, result.failure
    expected = json.loads((VECTORS / "expected.json").read_text())
    assert result.root.hex() == expected["roots"]["8"]


def test_checkpoint_verifies_from_the_format_description_alone() -> None:
    """An independent verifier (the `cryptography` package, hashlib) following CONTRACT §3 only."""
    note = (VECTORS / "checkpoint.txt").read_text()
    vkey = (VECTORS / "verifier_key.txt").read_text().strip()
    name, hex_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 1
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == hex_id
    text, _, sig_lines = note.partition("\n\n")
    origin, size, root_b64 = text.split("\n")
    assert origin == name
    sig_line = sig_lines.rstrip("\n")
    assert sig_line.startswith(f"\u2014 {name} ")
    blob = base64.b64decode(sig_line.split(" ")[2])
    assert blob[:4].hex() == hex_id
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[4:], (text + "\n").encode())
    lines = (VECTORS / "export.jsonl").read_bytes().splitlines()
    bodies = []
    for line in lines:
        obj = json.loads(line)
        del obj["hash"]
        bodies.append(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    assert merkle.root_of([merkle.leaf_hash(b) for b in bodies]) == base64.b64decode(root_b64)
    assert int(size) == len(lines)


def test_checkpoint_signatures_by_other_keys_or_tampered_fail() -> None:
    signer = LogSigner("example.test/genesis", bytes(32))
    note = signer.sign(3, b"\x11" * 32)
    assert open_checkpoint(note, Verifier.parse(signer.verifier_key)).size == 3
    other = LogSigner("example.test/genesis", bytes([1]) * 32)
    with pytest.raises(CheckpointError):
        open_checkpoint(note, Verifier.parse(other.verifier_key))
    with pytest.raises(CheckpointError):
        open_checkpoint(note.replace("\n3\n", "\n4\n"), Verifier.parse(signer.verifier_key))
    with pytest.raises(CheckpointError):
        Verifier.parse(signer.verifier_key.replace("+", "+0", 1))


@pytest.mark.parametrize(
    ("mutate", "bad_seq", "reason"),
    [
        (lambda ls: ls[:2] + ls[3:], 2, "gap"),
        (lambda ls: [ls[0], ls[0], *ls[1:]], 1, "gap"),
        (lambda ls: ls[:2] + [ls[2].replace(b'"seq":2', b'"seq":2.0')] + ls[3:], 2, "float"),
        (lambda ls: ls[:1] + [ls[1].replace(b'{"actor"', b'{ "actor"')] + ls[2:], 1, "canonical"),
        (lambda ls: ls[:3] + [ls[3].replace(b'"k":3', b'"k":4')] + ls[4:], 3, "hash mismatch"),
        (lambda ls: ls[:3] + [ls[3].replace(b'"k":3', b'"k":9007199254740993')] + ls[4:], 3, "2^53"),
        (lambda ls: ls[:-1] + [ls[-1][:-1]], 4, "newline"),
    ],
)
def test_first_bad_entry_is_named(mutate: Any, bad_seq: int, reason: str) -> None:
    lines = chain([{"k": i} for i in range(5)])
    result = verify_lines(mutate(lines))
    assert result.failure is not None
    assert result.failure.seq == bad_seq
    assert reason in result.failure.reason


def test_broken_prev_hash_is_named() -> None:
    lines = chain([{"k": i} for i in range(4)])
    other = chain([{"k": 10 + i} for i in range(4)])
    result = verify_lines([lines[0], lines[1], other[2], lines[3]])
    assert result.failure is not None
    assert result.failure.seq == 2
    assert "broken chain" in result.failure.reason


EXPORT = (VECTORS / "export.jsonl").read_bytes()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(EXPORT) * 8 - 1))
def test_flipping_any_bit_of_an_export_is_detected(bit: int) -> None:
    data = bytearray(EXPORT)
    data[bit // 8] ^= 1 << (bit % 8)
    assert not verify_file(io.BytesIO(bytes(data))).ok


def test_flipping_any_bit_is_detected_exhaustively_on_a_small_export() -> None:
    data = b"".join(chain([{"k": 1}, {"s": "x"}]))
    for bit in range(len(data) * 8):
        mutated = bytearray(data)
        mutated[bit // 8] ^= 1 << (bit % 8)
        assert not verify_lines(io.BytesIO(bytes(mutated))).ok, bit


def test_parallel_verification_agrees_with_sequential() -> None:
    lines = chain([{"k": i, "pad": "x" * 50} for i in range(3000)])
    data = b"".join(lines)
    seq_result = verify_file(io.BytesIO(data))
    par_result = verify_file(io.BytesIO(data), jobs=2, chunk_bytes=20_000)
    assert seq_result.ok
    assert par_result.ok
    assert (par_result.size, par_result.root, par_result.last_hash) == (3000, seq_result.root, seq_result.last_hash)
    bad = bytearray(data)
    bad[len(data) // 2] ^= 4
    s, p = verify_file(io.BytesIO(bytes(bad))), verify_file(io.BytesIO(bytes(bad)), jobs=2, chunk_bytes=20_000)
    assert s.failure is not None
    assert p.failure is not None
    assert s.failure.seq == p.failure.seq
    dropped = b"".join(lines[:1500] + lines[1501:])
    p = verify_file(io.BytesIO(dropped), jobs=2, chunk_bytes=20_000)
    assert p.failure is not None
    assert p.failure.seq == 1500


def test_an_older_checkpoint_is_checked_against_the_prefix_root() -> None:
    lines = chain([{"k": i} for i in range(7)])
    bodies = [line[: line.find(b',"hash"')] + line[line.find(b',"payload"') :].rstrip(b"\n") for line in lines]
    signer = LogSigner("example.test/genesis", bytes(32))
    root3 = merkle.root_of([merkle.leaf_hash(b) for b in bodies[:3]])
    good = signer.sign(3, root3)
    result = check_checkpoint(verify_lines(lines, watch=3), good, signer.verifier_key)
    assert result.ok, result.failure
    assert result.checkpoint is not None
    assert result.checkpoint.size == 3
    wrong = signer.sign(3, merkle.root_of([merkle.leaf_hash(b) for b in bodies[1:4]]))
    failed = check_checkpoint(verify_lines(lines, watch=3), wrong, signer.verifier_key)
    assert failed.failure is not None
    assert "root" in failed.failure.reason
    ahead = check_checkpoint(verify_lines(lines), signer.sign(9, root3), signer.verifier_key)
    assert ahead.failure is not None
    assert "covers 9" in ahead.failure.reason
