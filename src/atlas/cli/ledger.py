"""``atlas ledger``: verify, export, back up and restore the Genesis Ledger, and sign a checkpoint.

``verify`` works offline on an export file (no server, no database) or on the configured database.
Progress bars appear only when stderr is a terminal; exit status 0 means intact, 1 the first problem.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from atlas.config import Settings, resolve_secrets

ledger_app = typer.Typer(no_args_is_help=True, help="Verify, export, back up and restore the Genesis Ledger.")


@contextmanager
def _progress(label: str, total: int | None = None) -> Iterator[Callable[[int], None] | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _settings() -> Settings:
    return Settings()  # read the environment afresh on every command


def _log_verifier_key(settings: Settings) -> str:
    """This deployment's verifier key, from ATLAS_LOG_KEY or the key generated in ATLAS_DATA_DIR."""
    from atlas.ledger.checkpoint import LogSigner

    if settings.log_key is None and not (settings.data_dir / "log_key").exists():
        # resolve_secrets would generate a fresh key here, which could never verify anything.
        typer.echo("no log key: set ATLAS_LOG_KEY / ATLAS_DATA_DIR, or pass --key VERIFIER_KEY", err=True)
        raise typer.Exit(code=2)
    return LogSigner(settings.resolved_log_origin, resolve_secrets(settings).log_seed).verifier_key


def _run(coro_fn: Callable[[Any], Any], settings: Settings) -> Any:
    from atlas.db import Database

    async def main() -> Any:
        db = Database(settings.resolved_database_url)
        try:
            return await coro_fn(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _report(result: Any) -> None:
    if result.failure is not None:
        f = result.failure
        where = f" (line {f.line})" if f.line else ""
        typer.echo(f"FAIL: seq {f.seq}{where}: {f.reason}", err=True)
        raise typer.Exit(code=1)
    cp = result.checkpoint
    extra = f"; checkpoint at size {cp.size} verified" if cp is not None else ""
    typer.echo(f"OK: {result.size} entries, root {result.root.hex()}, head {result.last_hash}{extra}")


@ledger_app.command("verify")
def verify(
    file: Annotated[Path | None, typer.Argument(help="An export (JSONL). Without it: the configured database.")] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A signed checkpoint note to check.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="The log's verifier key (<name>+<id>+<key>).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes for a file (1: this process only).")] = 1,
) -> None:
    """Verify the chain, the Merkle root and a signed checkpoint. Exit 0 if intact, 1 at the first bad entry."""
    from atlas.ledger.verify import check_checkpoint, read_checkpoint_size, verify_file

    if file is None:
        from atlas.ledger.backup import verify_database

        settings = _settings()
        vkey = key or _log_verifier_key(settings)
        with _progress("verifying database") as progress:
            result = _run(lambda db: verify_database(db, vkey, progress), settings)
        _report(result)
        return
    if checkpoint is not None and key is None:
        typer.echo("--checkpoint needs --key (the verifier key published at /v1/genesis/public-key)", err=True)
        raise typer.Exit(code=2)
    try:
        note = checkpoint.read_text(encoding="utf-8") if checkpoint is not None else None
        with file.open("rb") as fh, _progress(f"verifying {file.name}") as progress:
            watch = read_checkpoint_size(note) if note is not None else None
            result = verify_file(fh, jobs=jobs, progress=progress, watch=watch)
    except OSError as exc:
        typer.echo(f"cannot read: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if note is not None and key is not None:
        result = check_checkpoint(result, note, key)
    _report(result)


@ledger_app.command("export")
def export(file: Annotated[Path, typer.Argument(help="Where to write the JSONL export.")]) -> None:
    """Write the ledger (CONTRACT §3), one canonical entry per line, in seq order."""
    from atlas.ledger.backup import export_database

    settings = _settings()
    with _progress("exporting") as progress:
        count = _run(lambda db: export_database(db, file, progress), settings)
    typer.echo(f"exported {count} entries to {file}")


@ledger_app.command("backup")
def backup(directory: Annotated[Path, typer.Argument(help="Directory for the backup (created if needed).")]) -> None:
    """Export, the latest checkpoint, the verifier key and a manifest of SHA-256 sums."""
    from atlas.ledger.backup import RestoreError
    from atlas.ledger.backup import backup as run_backup

    settings = _settings()
    vkey = _log_verifier_key(settings)
    try:
        with _progress("backing up") as progress:
            manifest = _run(lambda db: run_backup(db, directory, vkey, progress), settings)
    except RestoreError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"backed up {manifest['entries']} entries to {directory}")


@ledger_app.command("restore")
def restore(
    directory: Annotated[Path, typer.Argument(help="A directory written by `atlas ledger backup`.")],
    key: Annotated[str | None, typer.Option("--key", help="Trust this verifier key instead of the backup's own.")] = None,
) -> None:
    """Verify a backup completely, then load it into an empty database."""
    from atlas.ledger.backup import RestoreError, check_backup
    from atlas.ledger.backup import restore as run_restore

    settings = _settings()
    try:
        with _progress("verifying backup") as progress:
            result = check_backup(directory, key, progress=progress)
        if result.failure is not None:
            _report(result)
        with _progress("restoring") as progress:
            count = _run(lambda db: run_restore(db, directory, result, progress), settings)
    except RestoreError as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"restored {count} entries; root {result.root.hex()}")


@ledger_app.command("checkpoint")
def checkpoint_cmd() -> None:
    """Sign a checkpoint for the current tree size now (if the latest does not cover it) and print it."""
    from atlas.kit.clock import SystemClock
    from atlas.ledger import service
    from atlas.ledger.checkpoint import LogSigner

    settings = _settings()
    signer = LogSigner(settings.resolved_log_origin, resolve_secrets(settings).log_seed)

    async def go(db: Any) -> str | None:
        async with db.write() as conn:
            await service.issue_checkpoint(conn, signer, SystemClock().now())
            return await service.latest_note(conn)

    note = _run(go, settings)
    typer.echo(note or "", nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
