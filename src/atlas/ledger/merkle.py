"""RFC 9162 Merkle tree hashing, the incremental frontier, and inclusion/consistency proofs.

Proofs are produced from *stored complete subtrees*: a node ``(level, index)`` covers the leaves
``index·2^level … (index+1)·2^level − 1`` and exists as soon as its last leaf is appended; it never
changes afterwards. Any tree size decomposes into at most log₂(n) such nodes, so every proof needs
O(log n) stored hashes. The proof functions take a ``get(level, index)`` callback; :func:`plan`
runs them once symbolically to learn which nodes to fetch in a single query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf *hashes*, straight from the RFC's recursive definition (for tests)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


class Frontier:
    """The roots of the perfect subtrees that make up the tree, left to right (the compact range).

    ``push`` returns every complete node it creates, so the caller can store them.
    """

    __slots__ = ("size", "_hashes", "_levels")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self.size = size
        self._levels = [lvl for lvl in range(size.bit_length() - 1, -1, -1) if size >> lvl & 1]
        self._hashes = list(hashes)
        if len(self._hashes) != len(self._levels):
            raise ValueError("frontier hashes do not match the tree size")

    @staticmethod
    def nodes_for(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` of each frontier node of a tree of ``size`` leaves, left to right."""
        out = []
        start = 0
        for lvl in range(size.bit_length() - 1, -1, -1):
            if size >> lvl & 1:
                out.append((lvl, start >> lvl))
                start += 1 << lvl
        return out

    def push(self, leaf: bytes, created: list[tuple[int, int, bytes]] | None = None) -> None:
        idx = self.size
        h = leaf
        lvl = 0
        if created is not None:
            created.append((0, idx, h))
        levels, hashes = self._levels, self._hashes
        while levels and levels[-1] == lvl:
            levels.pop()
            h = node_hash(hashes.pop(), h)
            lvl += 1
            idx >>= 1
            if created is not None:
                created.append((lvl, idx, h))
        levels.append(lvl)
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        h = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self._hashes))


def subtree_hash(get: NodeGetter, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from stored complete nodes; ``lo`` is aligned as RFC 9162's recursion makes it."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and lo % n == 0:
        return get(n.bit_length() - 1, lo // n)
    k = _split(n)
    return node_hash(subtree_hash(get, lo, lo + k), subtree_hash(get, lo + k, hi))


def tree_root(get: NodeGetter, size: int) -> bytes:
    return subtree_hash(get, 0, size)


def inclusion_path(get: NodeGetter, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf-side first."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(subtree_hash(get, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_hash(get, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_path(get: NodeGetter, first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second])."""
    if not 0 < first <= second:
        raise ValueError("sizes out of range")
    if first == second:
        return []
    out: list[bytes] = []
    m, lo, hi, whole = first, 0, second, True
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                out.append(subtree_hash(get, lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append(subtree_hash(get, lo + k, hi))
            hi = lo + k
        else:
            out.append(subtree_hash(get, lo, lo + k))
            m -= k
            lo += k
            whole = False
    out.reverse()
    return out


def plan(fn: Callable[[NodeGetter], object]) -> list[tuple[int, int]]:
    """The stored nodes ``fn`` reads, found by running it against a recording getter."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return b"\x00" * 32

    fn(record)
    return wanted


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2), used by clients, the CLI and the tests ---


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ValueError("index out of range")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if len(p) != 32:
            raise ValueError("proof hash must be 32 bytes")
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def verify_consistency(first: int, second: int, path: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    if first < 0 or second < first:
        return False
    if first == second:
        return not path and root1 == root2
    if first == 0:
        return not path
    if any(len(p) != 32 for p in path) or not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:  # first is a power of two: its root is the first proof node
        proof.insert(0, root1)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2
