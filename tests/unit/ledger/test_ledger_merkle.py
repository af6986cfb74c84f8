"""RFC 9162 hashing and proofs: the CT known-answer vectors and exhaustive/property checks up to 128."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas.ledger import merkle

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors/ledger/rfc6962.json").read_text())


def _build(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    f = merkle.Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        created: list[tuple[int, int, bytes]] = []
        f.push(leaf, created)
        nodes.update({(lvl, idx): h for lvl, idx, h in created})
    return leaves, nodes


LEAVES_128, NODES_128 = _build(128)


def get(level: int, index: int) -> bytes:
    return NODES_128[(level, index)]


def test_hash_known_answers() -> None:
    assert merkle.EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert merkle.leaf_hash(b"").hex() == VECTORS["empty_leaf_hash"]
    assert merkle.leaf_hash(b"L123456").hex() == VECTORS["leaf_L123456"]
    assert merkle.node_hash(b"N123", b"N456").hex() == VECTORS["node_N123_N456"]


def test_ct_roots_for_the_eight_test_leaves() -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
    f = merkle.Frontier()
    assert f.root() == merkle.EMPTY_ROOT
    for n, leaf in enumerate(leaves, 1):
        f.push(leaf)
        assert f.root().hex() == VECTORS["roots"][n - 1]
        assert merkle.root_of(leaves[:n]).hex() == VECTORS["roots"][n - 1]


def test_ct_inclusion_and_consistency_vectors() -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
    f = merkle.Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        created: list[tuple[int, int, bytes]] = []
        f.push(leaf, created)
        nodes.update({(lvl, idx): h for lvl, idx, h in created})

    def g(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    roots = [bytes.fromhex(r) for r in VECTORS["roots"]]
    for v in VECTORS["inclusion"]:
        i, n = v["leaf_index"], v["tree_size"]
        path = merkle.inclusion_path(g, i, n)
        assert [p.hex() for p in path] == v["path"]
        assert merkle.verify_inclusion(i, n, leaves[i], path, roots[n - 1])
    for v in VECTORS["consistency"]:
        a, b = v["first"], v["second"]
        path = merkle.consistency_path(g, a, b)
        assert [p.hex() for p in path] == v["path"]
        assert merkle.verify_consistency(a, b, path, roots[a - 1], roots[b - 1])


def test_every_inclusion_proof_up_to_128_verifies() -> None:
    for n in range(1, 129):
        root = merkle.tree_root(get, n)
        assert root == merkle.root_of(LEAVES_128[:n])
        for i in range(n):
            path = merkle.inclusion_path(get, i, n)
            assert len(path) <= (n - 1).bit_length()
            assert merkle.verify_inclusion(i, n, LEAVES_128[i], path, root)


def test_every_consistency_proof_up_to_128_verifies() -> None:
    roots = [merkle.tree_root(get, n) for n in range(129)]
    for n in range(1, 129):
        for m in range(1, n + 1):
            path = merkle.consistency_path(get, m, n)
            assert merkle.verify_consistency(m, n, path, roots[m], roots[n])


@given(st.integers(1, 128).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))), st.data())
def test_tampered_inclusion_proofs_fail(case: tuple[int, int], data: st.DataObject) -> None:
    n, i = case
    root = merkle.tree_root(get, n)
    path = merkle.inclusion_path(get, i, n)
    assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"other"), path, root)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda j: LEAVES_128[j] != LEAVES_128[i] and j != i))
        assert not merkle.verify_inclusion(other, n, LEAVES_128[i], path, root)
    if path:
        k = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(path)
        flipped = bytearray(bad[k])
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad[k] = bytes(flipped)
        assert not merkle.verify_inclusion(i, n, LEAVES_128[i], bad, root)
        assert not merkle.verify_inclusion(i, n, LEAVES_128[i], path[:-1], root)
    assert not merkle.verify_inclusion(i, n, LEAVES_128[i], [*path, root], root)


@given(st.integers(2, 128).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n))), st.data())
def test_tampered_consistency_proofs_fail(case: tuple[int, int], data: st.DataObject) -> None:
    m, n = case
    r1, r2 = merkle.tree_root(get, m), merkle.tree_root(get, n)
    path = merkle.consistency_path(get, m, n)
    assert not merkle.verify_consistency(m, n, path, r2, r1)
    assert not merkle.verify_consistency(m, n, [], r1, r2)
    k = data.draw(st.integers(0, len(path) - 1))
    bad = list(path)
    bad[k] = hashlib.sha256(bad[k]).digest()
    assert not merkle.verify_consistency(m, n, bad, r1, r2)
    assert not merkle.verify_consistency(m, n, path[:-1], r1, r2)


def test_frontier_reload_matches_incremental() -> None:
    for n in (0, 1, 5, 64, 127):
        keys = merkle.Frontier.nodes_for(n)
        f = merkle.Frontier(n, [NODES_128[k] for k in keys])
        assert f.root() == merkle.root_of(LEAVES_128[:n])
        if n < 128:
            f.push(LEAVES_128[n])
            assert f.root() == merkle.root_of(LEAVES_128[: n + 1])


def test_plan_reads_only_log_n_nodes() -> None:
    n = 1_000_003
    wanted = merkle.plan(lambda g: merkle.inclusion_path(g, 12345, n))
    assert len(wanted) <= 2 * n.bit_length()
    wanted = merkle.plan(lambda g: merkle.consistency_path(g, 777_777, n))
    assert len(wanted) <= 2 * n.bit_length()


@pytest.mark.parametrize("n", [1, 2, 3, 17, 100])
def test_roots_agree_with_pymerkle(n: int) -> None:
    from pymerkle import InmemoryTree

    tree = InmemoryTree(algorithm="sha256")
    data = [f"entry-{i}".encode() for i in range(n)]
    for d in data:
        tree.append_entry(d)
    ours = merkle.root_of([merkle.leaf_hash(d) for d in data])
    assert tree.get_state() == ours
