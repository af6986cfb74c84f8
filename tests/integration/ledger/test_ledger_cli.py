"""``atlas ledger`` verify / export / backup / restore / checkpoint against a real database."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from atlas.cli import app as cli_app
from atlas.db import Database
from atlas.ledger import LedgerWriter
from atlas.ledger.checkpoint import LogSigner
from conftest import new_entries

SEED = bytes(range(1, 33))
ORIGIN = "cli.test/genesis"
VKEY = LogSigner(ORIGIN, SEED).verifier_key


def _env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        "ATLAS_DATABASE_URL": url,
        "ATLAS_DATA_DIR": str(data_dir),
        "ATLAS_LOG_KEY": base64.b64encode(SEED).decode(),
        "ATLAS_LOG_ORIGIN": ORIGIN,
    }


async def _atlas(env: dict[str, str], *args: str) -> Any:
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli_app, list(args), env=env)


async def _fill(url: str, n: int) -> None:
    db = Database(url)
    try:
        await LedgerWriter(db).append(new_entries(n))
    finally:
        await db.dispose()


async def test_export_verify_and_tamper(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path / "data")
    await _fill(database_url, 40)
    signed = await _atlas(env, "ledger", "checkpoint")
    assert signed.exit_code == 0
    assert signed.output.startswith(f"{ORIGIN}\n40\n")
    (tmp_path / "cp.txt").write_text(signed.output)
    out = tmp_path / "ledger.jsonl"
    assert (await _atlas(env, "ledger", "export", str(out))).exit_code == 0
    assert len(out.read_bytes().splitlines()) == 40

    ok = await _atlas(env, "ledger", "verify", str(out), "--checkpoint", str(tmp_path / "cp.txt"), "--key", VKEY)
    assert ok.exit_code == 0, ok.output
    assert "OK: 40 entries" in ok.output
    db_ok = await _atlas(env, "ledger", "verify")
    assert db_ok.exit_code == 0, db_ok.output

    lines = out.read_bytes().splitlines(keepends=True)
    lines[17] = lines[17].replace(b'"i":17', b'"i":71')
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines))
    failed = await _atlas(env, "ledger", "verify", str(bad))
    assert failed.exit_code == 1
    assert "seq 17" in failed.output
    assert "hash mismatch" in failed.output

    other_key = LogSigner(ORIGIN, bytes(32)).verifier_key
    wrong = await _atlas(env, "ledger", "verify", str(out), "--checkpoint", str(tmp_path / "cp.txt"), "--key", other_key)
    assert wrong.exit_code == 1
    assert "checkpoint" in wrong.output


async def test_backup_then_restore_into_an_empty_database(
    database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path / "data")
    await _fill(database_url, 57)
    assert (await _atlas(env, "ledger", "checkpoint")).exit_code == 0
    backup = tmp_path / "backup"
    made = await _atlas(env, "ledger", "backup", str(backup))
    assert made.exit_code == 0, made.output
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["entries"] == 57
    assert set(manifest["files"]) == {"ledger.jsonl", "checkpoint.txt", "verifier_key.txt"}

    target = _env(second_database_url, tmp_path / "data2")
    restored = await _atlas(target, "ledger", "restore", str(backup), "--key", VKEY)
    assert restored.exit_code == 0, restored.output
    assert (await _atlas(target, "ledger", "verify")).exit_code == 0
    again = tmp_path / "again.jsonl"
    assert (await _atlas(target, "ledger", "export", str(again))).exit_code == 0
    assert again.read_bytes() == (backup / "ledger.jsonl").read_bytes()

    refused = await _atlas(target, "ledger", "restore", str(backup))
    assert refused.exit_code == 1
    assert "empty" in refused.output


async def test_restore_refuses_a_tampered_backup(database_url: str, second_database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path / "data")
    await _fill(database_url, 5)
    assert (await _atlas(env, "ledger", "checkpoint")).exit_code == 0
    backup = tmp_path / "backup"
    assert (await _atlas(env, "ledger", "backup", str(backup))).exit_code == 0
    export = backup / "ledger.jsonl"
    export.write_bytes(export.read_bytes().replace(b'"i":3', b'"i":4'))
    target = _env(second_database_url, tmp_path / "data2")
    refused = await _atlas(target, "ledger", "restore", str(backup))
    assert refused.exit_code == 1
    assert "manifest" in refused.output
