"""``atlas replay``: rebuild points, referral graph and coherence from the ledger alone, and compare.

The live tables are read in one snapshot together with the projection's stored offset, and the
ledger is replayed up to exactly that offset, so the command can run while the server serves.
Replay also checks every award against the rule table (docs/points.md): an award the rules do not
explain is reported even if the projection faithfully summed it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.coherence import repository
from atlas.coherence.engine import SYSTEM_ACTOR, EntryLike, TrustEngine, TrustState, all_rows
from atlas.coherence.projection import NAME
from atlas.db import Database
from atlas.points.rules import (
    INVITEE_AWARD,
    REASON_REFERRAL_ACTIVATED,
    REASON_REFERRAL_WELCOME,
    RULE_VERSION,
    referrer_award,
)

PAGE = 5000
Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


@dataclass(frozen=True)
class Drift:
    table: str
    key: tuple[Any, ...]
    column: str | None  # None: the whole row is missing on one side
    live: Any
    replayed: Any

    def describe(self) -> str:
        key = ",".join(str(k) for k in self.key)
        if self.column is None:
            side = "missing from the live table" if self.live is None else "not produced by the ledger"
            return f"{self.table}[{key}]: row {side}"
        return f"{self.table}[{key}].{self.column}: live={self.live!r} replayed={self.replayed!r}"


@dataclass
class ReplayReport:
    offset: int
    entries: int
    drifts: list[Drift] = field(default_factory=list)
    rule_violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drifts and not self.rule_violations


def compare(live: Rows, replayed: Rows) -> list[Drift]:
    drifts: list[Drift] = []
    for table in sorted(set(live) | set(replayed)):
        a, b = live.get(table, {}), replayed.get(table, {})
        for key in sorted(set(a) | set(b), key=repr):
            la, rb = a.get(key), b.get(key)
            if la is None or rb is None:
                drifts.append(Drift(table, key, None, la, rb))
                continue
            for column in sorted(set(la) | set(rb)):
                if la.get(column) != rb.get(column):
                    drifts.append(Drift(table, key, column, la.get(column), rb.get(column)))
    return drifts


class AwardRules:
    """Recomputes, from REFERRAL_ACTIVATED entries, the awards the rule table calls for."""

    def __init__(self) -> None:
        self.activations: dict[str, tuple[int, dict[str, tuple[int, str]]]] = {}  # event_id -> (seq, expected)
        self.activated_count: dict[str, int] = {}
        self.seen: dict[str, dict[str, tuple[int, str]]] = {}
        self.violations: list[str] = []

    def feed(self, e: EntryLike) -> None:
        if e.event_type == "REFERRAL_ACTIVATED":
            referrer, invitee = str(e.payload.get("referrer")), str(e.payload.get("invitee"))
            nth = self.activated_count.get(referrer, 0) + 1
            self.activated_count[referrer] = nth
            expected = {invitee: (INVITEE_AWARD, REASON_REFERRAL_WELCOME)}
            if (points := referrer_award(nth)) > 0:
                expected[referrer] = (points, REASON_REFERRAL_ACTIVATED)
            self.activations[e.event_id] = (e.seq, expected)
        elif e.event_type == "POINTS_AWARDED" and e.actor == SYSTEM_ACTOR:
            source = str(e.payload.get("source_event_id"))
            wallet = str(e.payload.get("wallet"))
            got = self.seen.setdefault(source, {})
            if wallet in got:
                self.violations.append(f"points_awards[{e.seq}]: second award to {wallet} for one cause")
            got[wallet] = (e.payload.get("points"), str(e.payload.get("reason")))  # type: ignore[assignment]  # checked below
            if e.payload.get("rule_version") != RULE_VERSION:
                self.violations.append(f"points_awards[{e.seq}]: unknown rule_version {e.payload.get('rule_version')!r}")
            if source not in self.activations:
                self.violations.append(f"points_awards[{e.seq}]: cause {source} is not an earlier REFERRAL_ACTIVATED")

    def finish(self, *, last_seq: int, grace: int = 100) -> list[str]:
        """Problems found. An activation within ``grace`` entries of ``last_seq`` may still be waiting
        for its awards (they travel through the outbox right behind it), so it is not yet "missing"."""
        out = list(self.violations)
        for event_id, (seq, expected) in self.activations.items():
            got = self.seen.get(event_id, {})
            for wallet, want in expected.items():
                have = got.get(wallet)
                if have is None:
                    if seq < last_seq - grace:
                        out.append(f"ledger[{seq}]: REFERRAL_ACTIVATED without its award of {want[0]} to {wallet}")
                elif have != want:
                    out.append(f"ledger[{seq}]: award to {wallet} is {have[0]} ({have[1]}), rules say {want[0]} ({want[1]})")
            for wallet in set(got) - set(expected):
                out.append(f"ledger[{seq}]: award to {wallet} that the rules do not call for")
        return out


@dataclass
class _Entry:
    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str


def read_export(path: Path) -> Iterator[_Entry]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                body = json.loads(line)
                yield _Entry(
                    int(body["seq"]), str(body["event_id"]), str(body["event_type"]), str(body["actor"]),
                    dict(body["payload"]), str(body["timestamp"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a ledger export line ({exc})") from exc


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """One consistent view of the live tables and the offset (WAL snapshot / REPEATABLE READ)."""
    async with db.read_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def _read_offset(conn: AsyncConnection) -> int:
    from atlas.events import repository as events_repo

    return int(await events_repo.read_offset(conn, NAME))


async def replay(
    db: Database,
    *,
    export: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    engine = TrustEngine(TrustState())
    rules = AwardRules()
    count = 0

    def feed(batch: list[Any]) -> None:
        nonlocal count
        engine.apply(batch, flush=False)
        for e in batch:
            rules.feed(e)
        count += len(batch)
        if progress is not None:
            progress(count, offset + 1)

    async with snapshot(db) as conn:
        offset = await _read_offset(conn)
        live = await repository.all_table_rows(conn)
        if export is None and offset >= 0:
            from atlas.ledger import repository as ledger

            after = -1
            while after < offset:
                page = await ledger.entries_after(conn, after, min(PAGE, offset - after))
                if not page:
                    break
                feed(page)
                after = page[-1].seq
    if export is not None:
        batch: list[Any] = []
        for entry in read_export(export):
            if entry.seq > offset:
                break
            batch.append(entry)
            if len(batch) >= PAGE:
                feed(batch)
                batch = []
        if batch:
            feed(batch)
    engine.flush()
    report = ReplayReport(offset=offset, entries=count)
    if count != offset + 1:
        report.rule_violations.append(
            f"the ledger holds {count} entries up to the projection offset {offset}; expected {offset + 1}"
        )
    report.drifts = compare(live, all_rows(engine.state))
    report.rule_violations += rules.finish(last_seq=offset)
    return report
