"""Database-side ledger operations for the CLI: verify, export, backup and restore.

A backup directory holds ``ledger.jsonl`` (the export), ``checkpoint.txt`` (the latest signed
checkpoint), ``verifier_key.txt`` and ``manifest.json`` (SHA-256 and size of each file). Restore
checks the manifest, verifies the export and the checkpoint, and only then appends the entries, with
their original timestamps, into an empty database; the rebuilt chain must hash to the same values.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atlas.db import Database
from atlas.kit.canonical import canonical_str, loads_strict
from atlas.kit.clock import SystemClock
from atlas.ledger import repository as repo
from atlas.ledger import service
from atlas.ledger.entries import LedgerEntry, Prepared
from atlas.ledger.verify import (
    ChainVerifier,
    Failure,
    Result,
    check_checkpoint,
    read_checkpoint_size,
    verify_file,
)
from atlas.ledger.writer import LedgerWriter

Progress = Callable[[int], None] | None
FILES = ("ledger.jsonl", "checkpoint.txt", "verifier_key.txt")


class RestoreError(RuntimeError):
    pass


async def verify_database(db: Database, verifier_key: str, progress: Progress = None) -> Result:
    """Re-verify every stored entry as its export line, the stored Merkle nodes, and the latest checkpoint."""
    async with db.read() as conn:
        size = await repo.tree_size(conn)
        note = await service.latest_note(conn)
        watch = read_checkpoint_size(note) if note else None
        verifier = ChainVerifier(watch=watch)
        n = 0
        async for row in repo.stream_rows(conn):
            if row.seq >= size:
                break
            if not verifier.feed(LedgerEntry.from_row(row).export_line()):
                return verifier.result()
            n += 1
            if progress is not None and n % 8192 == 0:
                progress(8192)
        result = verifier.result()
        if result.size != size:
            result.failure = Failure(result.size, result.size + 1, f"gap: the head says {size} entries")
            return result
        stored_root = await service.root_at(conn, size)
        if stored_root != result.root:
            result.failure = Failure(max(size - 1, 0), 0, "stored Merkle nodes do not match the entries")
            return result
    if note is None:
        result.failure = Failure(size, 0, "no signed checkpoint in the database")
        return result
    return check_checkpoint(result, note, verifier_key)


async def export_database(db: Database, path: Path, progress: Progress = None) -> int:
    """Write the export atomically (temp file, fsync, rename); returns the number of entries."""
    tmp = path.with_name(path.name + ".partial")
    count = 0
    async with db.read() as conn:
        size = await repo.tree_size(conn)
        with tmp.open("wb") as fh:
            buf: list[bytes] = []
            async for row in repo.stream_rows(conn):
                if row.seq >= size:
                    break
                buf.append(LedgerEntry.from_row(row).export_line() + b"\n")
                count += 1
                if len(buf) >= 4096:
                    fh.write(b"".join(buf))
                    buf.clear()
                    if progress is not None:
                        progress(4096)
            fh.write(b"".join(buf))
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(path)
    return count


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


async def backup(db: Database, directory: Path, verifier_key: str, progress: Progress = None) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    async with db.read() as conn:
        note = await service.latest_note(conn)
    if note is None:
        raise RestoreError("no signed checkpoint to back up; start the server once or run `atlas ledger checkpoint`")
    # The checkpoint is read first, so the export (taken after) always covers it.
    (directory / "checkpoint.txt").write_text(note, encoding="utf-8")
    (directory / "verifier_key.txt").write_text(verifier_key + "\n", encoding="utf-8")
    count = await export_database(db, directory / "ledger.jsonl", progress)
    manifest = {
        "format": "qfs-ledger-backup/1",
        "entries": count,
        "files": {name: {"sha256": _sha256(directory / name), "bytes": (directory / name).stat().st_size} for name in FILES},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def check_backup(directory: Path, verifier_key: str | None, jobs: int = 1, progress: Progress = None) -> Result:
    """Manifest sums, then the export and the checkpoint (by the given key, else the backup's own)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RestoreError(f"unreadable manifest.json: {exc}") from exc
    for name in FILES:
        entry = files.get(name) if isinstance(files, dict) else None
        if not isinstance(entry, dict) or not (directory / name).is_file():
            raise RestoreError(f"{name} is missing from the backup or its manifest")
        if _sha256(directory / name) != entry.get("sha256"):
            raise RestoreError(f"{name} does not match its SHA-256 in manifest.json")
    key = verifier_key or (directory / "verifier_key.txt").read_text(encoding="utf-8").strip()
    note = (directory / "checkpoint.txt").read_text(encoding="utf-8")
    with (directory / "ledger.jsonl").open("rb") as fh:
        result = verify_file(fh, jobs=jobs, progress=progress, watch=read_checkpoint_size(note))
    return check_checkpoint(result, note, key)


async def restore(db: Database, directory: Path, result: Result, progress: Progress = None) -> int:
    """Append a verified backup into an empty database; returns the number of entries restored."""
    async with db.read() as conn:
        if await repo.tree_size(conn) or await repo.count_entries(conn):
            raise RestoreError("the database already holds ledger entries; restore needs an empty ledger")
    writer = LedgerWriter(db)
    batch: list[Prepared] = []
    last: list[LedgerEntry] = []
    count = 0

    async def flush() -> None:
        nonlocal last
        if batch:
            last = await writer.append_prepared(list(batch))
            if progress is not None:
                progress(len(batch))
            batch.clear()

    with (directory / "ledger.jsonl").open("rb") as fh:
        for raw in fh:
            obj = loads_strict(raw)
            batch.append(
                Prepared(obj["event_id"], obj["event_type"], obj["actor"], canonical_str(obj["payload"]), obj["timestamp"], obj["payload"])
            )
            count += 1
            if len(batch) >= 5000:
                await flush()
        await flush()
    if count and (not last or last[-1].hash != result.last_hash or last[-1].seq != count - 1):
        raise RestoreError("the restored chain does not reproduce the backup's hashes")
    note = (directory / "checkpoint.txt").read_text(encoding="utf-8")
    assert result.checkpoint is not None  # noqa: S101 - check_backup verified it
    async with db.write() as conn:
        root = await service.root_at(conn, result.checkpoint.size)
        if root != result.checkpoint.root:
            raise RestoreError("the restored tree's root does not match the backup's checkpoint")
        await repo.insert_checkpoint(conn, result.checkpoint.size, root.hex(), note, SystemClock().now())
    return count
