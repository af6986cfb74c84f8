"""``atlas events``: the event bridge's operations — status, replay, dead letters, redrive."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from atlas.config import get_settings

events_app = typer.Typer(no_args_is_help=True, help="The event bridge: outbox, streams, projections.")


async def _with_runtime(fn: Any) -> Any:
    from atlas.app import build_runtime

    runtime = build_runtime(get_settings())  # installed (projections registered), not started
    try:
        return await fn(runtime)
    finally:
        bus = runtime.services.get("bus")
        if bus is not None:
            await bus.close()
        await runtime.db.dispose()


@events_app.command("replay")
def replay(
    from_seq: int = typer.Option(..., "--from", min=0, help="First ledger seq to re-deliver."),
    consumer: str = typer.Option(..., "--consumer", help="Projection name (e.g. points, coherence)."),
    drive: bool = typer.Option(
        False, "--drive", help="Apply the entries in this command instead of leaving it to the running servers."
    ),
) -> None:
    """Re-deliver ledger entries from SEQ on to a named projection (reset its state and offset)."""
    from atlas.events.projections import (
        LedgerFeed,
        ProjectionRunner,
        UnknownProjectionError,
        registry,
        reset_projection,
    )

    async def run(runtime: Any) -> int:
        try:
            await reset_projection(runtime, consumer, from_seq)
        except UnknownProjectionError as exc:
            typer.echo(str(exc), err=True)
            return 1
        typer.echo(f"{consumer}: offset reset to {from_seq - 1}; entries from seq {from_seq} will be re-delivered")
        if not drive:
            return 0
        runner = ProjectionRunner(runtime, LedgerFeed(runtime, runtime.services["bus"]), registry(runtime).get(consumer))
        total = 0
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task(f"replaying {consumer}", total=None)
                while moved := await runner.step():
                    total += moved
                    progress.update(task, advance=moved)
        else:
            total = await runner.catch_up()
        typer.echo(f"{consumer}: applied {total} entries, offset now {await runner.offset()}")
        return 0

    code = asyncio.run(_with_runtime(run))
    raise typer.Exit(code)


@events_app.command("status")
def status() -> None:
    """Outbox depth, projection offsets, stream lengths, pending and dead-lettered messages (JSON)."""
    from atlas.events import repository as repo
    from atlas.events.bus import GROUP_LEDGER, STREAM_EVENTS, STREAM_LEDGER

    async def run(runtime: Any) -> dict[str, Any]:
        async with runtime.db.read() as conn:
            unpublished, undelivered = await repo.outbox_depth(conn)
            offsets = await repo.offsets(conn)
        out: dict[str, Any] = {
            "outbox": {"unpublished": unpublished, "undelivered": undelivered},
            "projections": {name: {"last_seq": seq} for name, seq in sorted(offsets.items())},
            "bus": "redis" if runtime.settings.redis_url else "in-process (state of this command only)",
        }
        bus = runtime.services["bus"]
        try:
            out["streams"] = {s: await bus.length(s) for s in (STREAM_EVENTS, STREAM_LEDGER)}
            out["dead_letters"] = await bus.dead_letter_count(STREAM_EVENTS)
            try:
                out["pending"] = await bus.pending(STREAM_EVENTS, GROUP_LEDGER)
            except LookupError:
                out["pending"] = 0
        except Exception as exc:  # Redis down: report it, the database part is still useful
            out["bus_error"] = type(exc).__name__
        return out

    typer.echo(json.dumps(asyncio.run(_with_runtime(run)), indent=2))


@events_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(100, min=1, help="How many to show.")) -> None:
    """List dead-lettered events with their reason (JSON lines)."""
    from atlas.events import repository as repo
    from atlas.events.bus import STREAM_EVENTS
    from atlas.events.codec import decode

    async def run(runtime: Any) -> list[dict[str, Any]]:
        bus = runtime.services["bus"]
        if bus.durable:
            out = []
            for d in await bus.dead_letters(STREAM_EVENTS, limit):
                try:
                    event = decode(d.fields)
                except (ValueError, KeyError):
                    event = {}
                out.append({"message_id": d.message_id, "event_id": event.get("event_id"),
                            "event_type": event.get("event_type"), "reason": d.reason, "deliveries": d.deliveries})
            return out
        async with runtime.db.read() as conn:
            rows = await repo.dead_letter_rows(conn, limit)
        return [
            {"message_id": r.message_id, "event_id": r.event_id, "event_type": _event_type(r.fields),
             "reason": r.reason, "deliveries": r.deliveries, "failed_at": r.failed_at.isoformat()}
            for r in rows
        ]

    for item in asyncio.run(_with_runtime(run)):
        typer.echo(json.dumps(item, sort_keys=True))


@events_app.command("redrive")
def redrive(
    event_ids: Annotated[list[str], typer.Argument(help="event_id of each dead-lettered event to retry.")],
) -> None:
    """Send dead-lettered events through the bridge again (after fixing what made the ledger refuse them)."""
    from atlas.events import repository as repo

    async def run(runtime: Any) -> int:
        async with runtime.db.write() as conn:
            return await repo.redrive(conn, event_ids)

    count = asyncio.run(_with_runtime(run))
    typer.echo(f"{count} event(s) queued for delivery again")
    raise typer.Exit(0 if count == len(event_ids) else 1)


def _event_type(fields_json: str) -> str | None:
    from atlas.events.codec import decode

    try:
        value = decode(json.loads(fields_json)).get("event_type")
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
