"""``atlas replay``: recompute points, coherence and the referral graph from the ledger and compare."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from atlas.config import get_settings


def replay_command(
    export: Path | None = typer.Argument(  # noqa: B008 - typer declares options this way
        None, exists=True, dir_okay=False, help="A ledger export (JSONL) to replay instead of the database's ledger."
    ),
) -> None:
    """Rebuild every derived figure from the ledger alone and compare with the live tables.

    Exit 0 when they agree; exit 1 listing each drift. Safe while the server runs: the comparison stops
    at the projection's stored offset.
    """
    from atlas.coherence.replay import replay
    from atlas.db import Database

    settings = get_settings()

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            if sys.stderr.isatty():
                from rich.progress import Progress

                with Progress(transient=True) as bar:
                    task = bar.add_task("replaying ledger", total=None)
                    report = await replay(db, export=export, progress=lambda n, total: bar.update(task, completed=n, total=total))
            else:
                report = await replay(db, export=export)
        finally:
            await db.dispose()
        for drift in report.drifts:
            typer.echo(f"drift: {drift.describe()}")
        for problem in report.rule_violations:
            typer.echo(f"rule: {problem}")
        if report.ok:
            typer.echo(f"replay ok: {report.entries} ledger entries up to seq {report.offset} reproduce the projections")
            return 0
        typer.echo(f"replay found {len(report.drifts)} drift(s) and {len(report.rule_violations)} rule problem(s) up to seq {report.offset}")
        return 1

    raise typer.Exit(asyncio.run(run()))


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_command)
