"""The offline verifier: checks an export line by line in constant memory.

Each line is checked for being exactly canonical (parse, re-encode, compare bytes), for the body's
shape, its hash, the chain link to the previous line and the gap-free ``seq``; its leaf hash feeds an
incremental Merkle frontier, so the root of the whole export is known at the end and can be compared
with a signed checkpoint. The first failure stops verification and names the ``seq`` and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from atlas.kit.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes
from atlas.ledger.checkpoint import Checkpoint, CheckpointError, Verifier, open_checkpoint
from atlas.ledger.entries import ZERO_HASH
from atlas.ledger.merkle import Frontier

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z\Z")
_KEYS = frozenset(("seq", "event_id", "event_type", "actor", "payload", "timestamp", "prev_hash", "hash"))
_HASH_KEY = b',"hash":"'
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True).encode


class _FloatFound(ValueError):
    pass


class _BigInt(ValueError):
    pass


def _no_float(_: str) -> Any:
    raise _FloatFound


def _int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _BigInt
    return value


def _no_constant(_: str) -> Any:
    raise _FloatFound


_decoder = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_constant)
_strict_decoder = json.JSONDecoder(parse_float=_no_float, parse_int=_int, parse_constant=_no_constant)
# A JSON number of 16+ digits follows ':', ',' or '['. Only lines where this matches (rare: a string
# may contain such text too) are re-parsed with the per-integer range check, which is slower.
_LONG_NUMBER = re.compile(r"[:,\[]-?\d{16}")


@dataclass
class Failure:
    seq: int  # the seq of the first bad entry (the position it should have had)
    line: int  # 1-based line number in the input, 0 for the checkpoint
    reason: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}"


@dataclass
class Result:
    size: int
    root: bytes
    last_hash: str
    failure: Failure | None = None
    checkpoint: Checkpoint | None = None
    watched_root: bytes | None = None  # the root at the size asked for with ``watch``

    @property
    def ok(self) -> bool:
        return self.failure is None


class ChainVerifier:
    """Feed it lines in order; it stops at the first failure.

    ``anchored=False`` (used by the parallel workers) accepts the first line's ``seq`` and
    ``prev_hash`` as given; the caller checks that link against the previous chunk.
    """

    def __init__(self, *, anchored: bool = True, keep_leaves: bool = False, watch: int | None = None) -> None:
        self.frontier = Frontier()
        self.watch = watch  # record the root when the tree reaches this size (an older checkpoint's)
        self.watched_root: bytes | None = Frontier().root() if watch == 0 else None
        self.seq = 0
        self.prev = ZERO_HASH
        self.anchored = anchored
        self.first: tuple[int, str] | None = None
        self.count = 0
        self.leaves = bytearray() if keep_leaves else None
        self.failure: Failure | None = None

    @property
    def size(self) -> int:
        return self.seq

    def _fail(self, reason: str) -> bool:
        self.failure = Failure(self.seq, self.count + 1, reason)
        return False

    def feed(self, raw: bytes, terminated: bool = True) -> bool:
        if self.failure is not None:
            return False
        if not terminated:
            return self._fail("line does not end with a newline")
        try:
            text = raw.decode("utf-8")
            obj = (_strict_decoder if _LONG_NUMBER.search(text) else _decoder).decode(text)
        except _FloatFound:
            return self._fail("a floating-point number (floats are not allowed)")
        except _BigInt:
            return self._fail("an integer outside ±(2^53-1)")
        except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
            return self._fail("not a JSON line (malformed or not UTF-8)")
        if type(obj) is not dict or obj.keys() != _KEYS:
            return self._fail("not an entry object with exactly the §3 keys")
        try:
            canonical = _encode(obj) if text.isascii() else canonical_bytes(obj).decode()
        except (CanonicalError, ValueError):
            return self._fail("not canonical JSON (RFC 8785)")
        if canonical != text:
            return self._fail("not canonical JSON (RFC 8785)")
        seq, given_hash, prev = obj["seq"], obj["hash"], obj["prev_hash"]
        if type(seq) is not int:
            return self._fail("seq is not an integer")
        if not self.anchored and self.first is None and type(prev) is str:
            self.seq, self.prev, self.first = seq, prev, (seq, prev)
        if seq != self.seq:
            return self._fail(f"gap or reordering in seq: found {seq}, expected {self.seq}")
        if not (
            type(obj["event_id"]) is str
            and obj["event_id"]
            and type(obj["event_type"]) is str
            and type(obj["actor"]) is str
            and type(obj["payload"]) is dict
            and type(obj["timestamp"]) is str
            and _TIME.match(obj["timestamp"])
        ):
            return self._fail("a field has the wrong type or format")
        if type(given_hash) is not str or not _HEX64.match(given_hash):
            return self._fail("hash is not 64 lowercase hex digits")
        if type(prev) is not str or not _HEX64.match(prev):
            return self._fail("prev_hash is not 64 lowercase hex digits")
        if prev != self.prev:
            return self._fail("broken chain: prev_hash is not the previous entry's hash")
        cut = raw.find(_HASH_KEY)
        body = raw[:cut] + raw[cut + 74 :]
        if hashlib.sha256(body).hexdigest() != given_hash:
            return self._fail("hash mismatch: hash is not SHA-256 of the canonical body")
        leaf = hashlib.sha256(b"\x00" + body).digest()
        if self.leaves is not None:
            self.leaves += leaf
        else:
            self.frontier.push(leaf)
            if self.frontier.size == self.watch:
                self.watched_root = self.frontier.root()
        self.prev = given_hash
        self.seq += 1
        self.count += 1
        return True

    def result(self) -> Result:
        return Result(self.frontier.size, self.frontier.root(), self.prev, self.failure, watched_root=self.watched_root)


def _split_lines(blob: bytes) -> Iterator[tuple[bytes, bool]]:
    parts = blob.split(b"\n")
    last = parts.pop()
    for part in parts:
        yield part, True
    if last:
        yield last, False


def verify_lines(
    lines: Iterable[bytes], progress: Callable[[int], None] | None = None, watch: int | None = None
) -> Result:
    """Sequential verification of raw lines (each with its trailing newline)."""
    verifier = ChainVerifier(watch=watch)
    feed = verifier.feed
    for n, raw in enumerate(lines, 1):
        ok = feed(raw[:-1], True) if raw.endswith(b"\n") else feed(raw, False)
        if not ok:
            break
        if progress is not None and n % 8192 == 0:
            progress(8192)
    return verifier.result()


@dataclass
class _Chunk:
    first: tuple[int, str] | None
    count: int
    leaves: bytes
    last_hash: str
    failure: tuple[int, str] | None  # (index in chunk, reason)


def _verify_chunk(blob: bytes) -> _Chunk:
    v = ChainVerifier(anchored=False, keep_leaves=True)
    for raw, terminated in _split_lines(blob):
        if not v.feed(raw, terminated):
            break
    assert v.leaves is not None  # noqa: S101 - keep_leaves=True above
    fail = (v.count, v.failure.reason) if v.failure else None
    return _Chunk(v.first, v.count, bytes(v.leaves), v.prev, fail)


def _read_blobs(fh: BinaryIO, size: int) -> Iterator[bytes]:
    while True:
        blob = fh.read(size)
        if not blob:
            return
        if not blob.endswith(b"\n"):
            blob += fh.readline()
        yield blob


def verify_file(
    fh: BinaryIO,
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int = 1 << 20,
    watch: int | None = None,
) -> Result:
    """Verify an export stream. With ``jobs > 1`` the per-line work runs in worker processes on
    ~1 MiB chunks (a bounded window of them, so memory stays constant); the chain links between
    chunks and the Merkle frontier stay in this process."""
    if jobs <= 1:
        return verify_lines(fh, progress, watch)
    import multiprocessing
    from multiprocessing.pool import AsyncResult

    frontier = Frontier()
    watched: bytes | None = frontier.root() if watch == 0 else None
    prev = ZERO_HASH
    line = 0
    failure: Failure | None = None
    window: deque[AsyncResult[_Chunk]] = deque()

    def absorb(chunk: _Chunk) -> Failure | None:
        nonlocal prev, line, watched
        expected = frontier.size
        if chunk.first is not None:
            seq0, prev0 = chunk.first
            if seq0 != expected:
                return Failure(expected, line + 1, f"gap or reordering in seq: found {seq0}, expected {expected}")
            if prev0 != prev:
                return Failure(expected, line + 1, "broken chain: prev_hash is not the previous entry's hash")
        leaves = chunk.leaves
        push = frontier.push
        for i in range(0, len(leaves), 32):
            push(leaves[i : i + 32])
            if frontier.size == watch:
                watched = frontier.root()
        if chunk.count:
            prev = chunk.last_hash
        line += chunk.count
        if progress is not None:
            progress(chunk.count)
        if chunk.failure is not None:
            return Failure(frontier.size, line + 1, chunk.failure[1])
        return None

    # forkserver, not fork: forking a process that runs threads (a server, a test run) can copy a
    # lock another thread held. multiprocessing.Pool, not ProcessPoolExecutor: stopping the latter
    # early (a failure found, chunks still queued) hung its shutdown now and then on Debian's 3.11.2;
    # Pool.terminate() stops the workers whatever they are doing.
    pool = multiprocessing.get_context("forkserver").Pool(jobs)
    try:
        for blob in _read_blobs(fh, chunk_bytes):
            window.append(pool.apply_async(_verify_chunk, (blob,)))
            if len(window) > 2 * jobs:
                failure = absorb(window.popleft().get())
                if failure:
                    break
        while window and failure is None:
            failure = absorb(window.popleft().get())
    finally:
        pool.terminate()
        pool.join()
    return Result(frontier.size, frontier.root(), prev, failure, watched_root=watched)


def read_checkpoint_size(note: str) -> int | None:
    """The tree size line of a note, unverified (to know which root to record while streaming)."""
    lines = note.split("\n")
    return int(lines[1]) if len(lines) > 2 and lines[1].isdigit() else None


def check_checkpoint(result: Result, note: str, verifier_key: str) -> Result:
    """Check the checkpoint's signature and that its root is the Merkle root of the verified entries
    at its size: the whole log, or the prefix the caller recorded with ``watch``."""
    if result.failure is not None:
        return result
    try:
        cp = open_checkpoint(note, Verifier.parse(verifier_key))
    except CheckpointError as exc:
        result.failure = Failure(result.size, 0, f"checkpoint: {exc}")
        return result
    result.checkpoint = cp
    if cp.size > result.size:
        result.failure = Failure(result.size, 0, f"checkpoint covers {cp.size} entries but the log has {result.size}")
        return result
    root = result.root if cp.size == result.size else result.watched_root
    if root is None:
        result.failure = Failure(cp.size, 0, "checkpoint size was not watched while verifying")
    elif cp.root != root:
        result.failure = Failure(max(cp.size - 1, 0), 0, "checkpoint root does not match the Merkle root")
    return result
