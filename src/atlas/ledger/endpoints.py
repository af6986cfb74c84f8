"""HTTP API of the Genesis Ledger (CONTRACT §2). Everything here is public except ``POST /log``."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from atlas.auth.deps import CurrentSession
from atlas.deps import ReadConn, RuntimeDep
from atlas.ledger import repository as repo
from atlas.ledger import service
from atlas.ledger.checkpoint import LogSigner
from atlas.ledger.entries import LedgerEntry
from atlas.ledger.errors import EntryNotFound, EventDeadLettered, EventNotFound, NoCheckpoint
from atlas.ledger.schemas import (
    ConsistencyProofOut,
    EntriesPage,
    EntryOut,
    InclusionProofOut,
    LogAccepted,
    LogRequest,
    PendingOut,
    PublicKeyOut,
)
from atlas.ledger.writer import LedgerWriter

router = APIRouter(prefix="/v1/genesis", tags=["ledger"])

MAX_SEQ = 2**62  # far beyond any ledger; keeps out-of-range integers away from BIGINT columns
Seq = Annotated[int, Path(ge=0, le=MAX_SEQ)]


LOG_WAIT_SECONDS = 1.0


@router.post(
    "/log",
    summary="Authenticated: log a client event (CONTENT_ACTION) with the caller as actor.",
    description=(
        "Only client-loggable event types are accepted (`event_type_forbidden` for server-only ones such "
        "as LOGIN or POINTS_AWARDED, `event_type_unknown` otherwise); the payload is at most 8 KiB of "
        "canonical JSON without floats. The event goes through the outbox; the server waits up to a "
        "second for its ledger entry: 201 with it, else 202 pending. Either way it lands exactly once."
    ),
    status_code=201,
    response_model=LogAccepted,
    responses={
        202: {"model": PendingOut, "description": "accepted; the entry is on its way"},
        401: {"description": "no or invalid access token"},
        403: {"description": "a server-only event type"},
        413: {"description": "payload too large"},
        422: {"description": "unknown event type or invalid payload"},
    },
)
async def log_event(body: LogRequest, session: CurrentSession, runtime: RuntimeDep) -> LogAccepted | JSONResponse:
    async with runtime.db.write() as conn:
        event_id = await service.log_client_event(
            conn, wallet=session.wallet, event_type=body.event_type, payload=body.payload, at=runtime.clock.now()
        )
    runtime.committed()
    writer: LedgerWriter = runtime.get("ledger")
    entry = await writer.wait_for(event_id, LOG_WAIT_SECONDS)
    if entry is None:
        return JSONResponse(PendingOut(event_id=event_id).model_dump(), status_code=202)
    return LogAccepted(seq=entry.seq, hash=entry.hash, event_id=entry.event_id)


@router.get("/entries", summary="Page through ledger entries with seq > after. Public.")
async def list_entries(
    conn: ReadConn,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="Return entries with seq > after.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEQ, description="At most 1000 (larger values are capped).")] = 100,
) -> EntriesPage:
    entries = await repo.entries_after(conn, -1 if after is None else after, min(limit, 1000))
    return EntriesPage(
        entries=[EntryOut.of(e) for e in entries], next_after=entries[-1].seq if entries else after
    )


@router.get(
    "/entries/{seq}", summary="One ledger entry by seq. Public.", responses={404: {"description": "no such entry"}}
)
async def get_entry(conn: ReadConn, seq: Seq) -> EntryOut:
    entry = await repo.get_by_seq(conn, seq)
    if entry is None:
        raise EntryNotFound(f"No ledger entry has seq {seq}.")
    return EntryOut.of(entry)


@router.get(
    "/events/{event_id}",
    summary="The ledger entry of an event; 202 while it is still on its way, 404 if never acknowledged. Public.",
    response_model=EntryOut,
    responses={
        202: {"model": PendingOut, "description": "acknowledged, not yet in the ledger"},
        404: {},
        409: {"description": "event_dead_lettered: acknowledged, but the ledger refused it after every retry"},
    },
)
async def get_event(conn: ReadConn, event_id: Annotated[str, Path(max_length=64)]) -> EntryOut | JSONResponse:
    status = await service.event_status(conn, event_id)
    if isinstance(status, LedgerEntry):
        return EntryOut.of(status)
    if status == "pending":
        return JSONResponse(PendingOut(event_id=event_id).model_dump(), status_code=202)
    if status == "dead":
        raise EventDeadLettered("The ledger refused this event after every retry; an operator can redrive it (atlas events redrive).")
    raise EventNotFound("No event with this id was ever acknowledged.")


@router.get(
    "/checkpoint",
    summary="The latest signed checkpoint (C2SP tlog-checkpoint, signed-note Ed25519). Public.",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
async def get_checkpoint(conn: ReadConn) -> PlainTextResponse:
    note = await service.latest_note(conn)
    if note is None:
        raise NoCheckpoint("No checkpoint has been signed yet.")
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/public-key", summary="The log's Ed25519 public key and signed-note verifier key. Public.")
async def get_public_key(runtime: RuntimeDep) -> PublicKeyOut:
    signer: LogSigner = runtime.get("ledger_signer")
    return PublicKeyOut(
        origin=signer.origin,
        key_name=signer.origin,
        public_key=base64.b64encode(signer.public_key).decode(),
        verifier_key=signer.verifier_key,
    )


@router.get(
    "/proof/inclusion",
    summary="RFC 9162 inclusion proof of entry seq in the tree of tree_size entries. Public.",
    responses={400: {"description": "seq or tree_size out of range"}},
)
async def get_inclusion_proof(
    conn: ReadConn,
    seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    tree_size: Annotated[
        int | None, Query(ge=1, le=MAX_SEQ, description="Defaults to the latest checkpoint's size.")
    ] = None,
) -> InclusionProofOut:
    proof = await service.inclusion_proof(conn, seq, tree_size)
    return InclusionProofOut(
        seq=proof.seq, tree_size=proof.tree_size, leaf_hash=proof.leaf_hash.hex(), path=[p.hex() for p in proof.path]
    )


@router.get(
    "/proof/consistency",
    summary="RFC 9162 consistency proof between tree sizes first and second. Public.",
    responses={400: {"description": "sizes out of range"}},
)
async def get_consistency_proof(
    conn: ReadConn,
    first: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    second: Annotated[int, Query(ge=0, le=MAX_SEQ)],
) -> ConsistencyProofOut:
    path = await service.consistency_proof(conn, first, second)
    return ConsistencyProofOut(first=first, second=second, path=[p.hex() for p in path])


@router.get(
    "/export",
    summary="The whole ledger as JSONL (CONTRACT §3), streamed in seq order. Public.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export(runtime: RuntimeDep) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        async with runtime.db.read() as conn:
            size = await repo.tree_size(conn)
            chunk: list[bytes] = []
            async for row in repo.stream_rows(conn):
                if row.seq >= size:
                    break
                chunk.append(LedgerEntry.from_row(row).export_line() + b"\n")
                if len(chunk) >= 1000:
                    yield b"".join(chunk)
                    chunk = []
            if chunk:
                yield b"".join(chunk)

    return StreamingResponse(lines(), media_type="application/x-ndjson")
