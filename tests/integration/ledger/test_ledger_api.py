"""The Genesis Ledger HTTP API (CONTRACT §2) on a running app, on both backends."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from atlas.events import repository as events_repo
from atlas.events.models import ContentAction
from atlas.events.outbox import emit
from atlas.ledger import LedgerWriter, merkle
from atlas.ledger.checkpoint import Verifier, open_checkpoint
from atlas.ledger.verify import check_checkpoint, verify_file
from conftest import landed_entry, new_entries


async def _checkpoint_covering(client: httpx.AsyncClient, size: int, verifier: Verifier) -> Any:
    for _ in range(100):  # the checkpointer runs about once a second; allow generous slack
        cp = open_checkpoint((await client.get("/v1/genesis/checkpoint")).text, verifier)
        if cp.size >= size:
            return cp
        await asyncio.sleep(0.1)
    raise AssertionError("no checkpoint covered the new entries")


async def test_entries_pages_and_lookups(client: httpx.AsyncClient, writer: LedgerWriter) -> None:
    appended = await writer.append(new_entries(25))
    assert [e.seq for e in appended] == list(range(25))
    page = (await client.get("/v1/genesis/entries", params={"limit": 10})).json()
    assert [e["seq"] for e in page["entries"]] == list(range(10))
    assert page["next_after"] == 9
    page = (await client.get("/v1/genesis/entries", params={"after": 19, "limit": 5000})).json()
    assert [e["seq"] for e in page["entries"]] == [20, 21, 22, 23, 24]
    one = (await client.get("/v1/genesis/entries/3")).json()
    assert one == appended[3].as_json()
    assert one["prev_hash"] == appended[2].hash
    missing = await client.get("/v1/genesis/entries/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "entry_not_found"
    for bad in ("/v1/genesis/entries/-1", "/v1/genesis/entries/abc", "/v1/genesis/entries/99999999999999999999999"):
        r = await client.get(bad)
        assert r.status_code in (404, 422)
        assert "code" in r.json()


async def test_append_is_idempotent_by_event_id(client: httpx.AsyncClient, writer: LedgerWriter) -> None:
    first = await writer.append(new_entries(3, prefix="dup"))
    again = await writer.append([*new_entries(3, prefix="dup"), *new_entries(1, prefix="fresh")])
    assert again[:3] == first
    assert again[3].seq == 3
    same_batch = await writer.append([*new_entries(2, prefix="twice"), *new_entries(2, prefix="twice")])
    assert same_batch[:2] == same_batch[2:]
    page = (await client.get("/v1/genesis/entries", params={"limit": 1000})).json()
    assert len(page["entries"]) == 6


async def test_event_status_entry_pending_or_unknown(app: Any, client: httpx.AsyncClient, writer: LedgerWriter) -> None:
    [entry] = await writer.append(new_entries(1))
    got = await client.get(f"/v1/genesis/events/{entry.event_id}")
    assert got.status_code == 200
    assert got.json()["seq"] == entry.seq
    pending = ContentAction(actor="0x" + "cd" * 20, data={"x": 1})
    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        await emit(conn, [pending], at=runtime.clock.now())
    got = await client.get(f"/v1/genesis/events/{pending.event_id}")
    assert got.status_code == 202
    assert got.json() == {"event_id": pending.event_id, "status": "pending"}
    got = await client.get("/v1/genesis/events/never-seen")
    assert got.status_code == 404
    assert got.json()["code"] == "event_not_found"


async def test_a_dead_lettered_event_says_so_until_redriven(app: Any, client: httpx.AsyncClient) -> None:
    """Not "pending" forever: the ledger refused it (what the subscriber records after the last
    retry), so 409 ``event_dead_lettered``; once an operator redrives it, it lands."""
    refused = ContentAction(actor="0x" + "ef" * 20, data={"x": 2})
    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        at = runtime.clock.now()
        await emit(conn, [refused], at=at)
        row = await events_repo.outbox_state(conn, refused.event_id)
        await events_repo.mark_published(conn, [row.id], at)
        await events_repo.mark_dead(conn, refused.event_id, at)
    got = await client.get(f"/v1/genesis/events/{refused.event_id}")
    assert got.status_code == 409
    assert got.headers["content-type"].startswith("application/problem+json")
    assert got.json()["code"] == "event_dead_lettered"

    async with runtime.db.write() as conn:
        assert await events_repo.redrive(conn, [refused.event_id]) == 1
    runtime.committed()
    assert (await landed_entry(client, refused.event_id))["event_id"] == refused.event_id


async def test_checkpoint_public_key_and_proofs(client: httpx.AsyncClient, writer: LedgerWriter) -> None:
    key = (await client.get("/v1/genesis/public-key")).json()
    assert key["origin"] == key["key_name"] == "127.0.0.1:8000/genesis"
    assert len(base64.b64decode(key["public_key"])) == 32
    verifier = Verifier.parse(key["verifier_key"])
    empty = open_checkpoint((await client.get("/v1/genesis/checkpoint")).text, verifier)
    assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)

    entries = await writer.append(new_entries(13))
    cp = await _checkpoint_covering(client, 13, verifier)
    resp = await client.get("/v1/genesis/checkpoint")
    assert resp.headers["content-type"].startswith("text/plain")

    export = await client.get("/v1/genesis/export")
    assert export.status_code == 200
    result = check_checkpoint(verify_file(io.BytesIO(export.content)), resp.text, key["verifier_key"])
    assert result.ok, result.failure
    assert result.root == cp.root

    for seq in (0, 5, 12):
        proof = (await client.get("/v1/genesis/proof/inclusion", params={"seq": seq})).json()
        assert proof["tree_size"] == 13
        leaf = merkle.leaf_hash(entries[seq].canonical_body())
        assert proof["leaf_hash"] == leaf.hex()
        assert merkle.verify_inclusion(seq, 13, leaf, [bytes.fromhex(p) for p in proof["path"]], cp.root)
    old = (await client.get("/v1/genesis/proof/inclusion", params={"seq": 2, "tree_size": 5})).json()
    root5 = merkle.root_of([merkle.leaf_hash(e.canonical_body()) for e in entries[:5]])
    leaf2 = merkle.leaf_hash(entries[2].canonical_body())
    assert merkle.verify_inclusion(2, 5, leaf2, [bytes.fromhex(p) for p in old["path"]], root5)

    cons = (await client.get("/v1/genesis/proof/consistency", params={"first": 5, "second": 13})).json()
    assert merkle.verify_consistency(5, 13, [bytes.fromhex(p) for p in cons["path"]], root5, cp.root)
    same = (await client.get("/v1/genesis/proof/consistency", params={"first": 13, "second": 13})).json()
    assert same["path"] == []


OUT_OF_RANGE: list[tuple[str, dict[str, int]]] = [
    ("/v1/genesis/proof/inclusion", {"seq": 3, "tree_size": 3}),
    ("/v1/genesis/proof/inclusion", {"seq": 0, "tree_size": 99}),
    ("/v1/genesis/proof/inclusion", {"seq": 4}),
    ("/v1/genesis/proof/consistency", {"first": 0, "second": 2}),
    ("/v1/genesis/proof/consistency", {"first": 3, "second": 2}),
    ("/v1/genesis/proof/consistency", {"first": 1, "second": 99}),
]


async def test_out_of_range_proofs_are_400_problems(app: Any, client: httpx.AsyncClient, writer: LedgerWriter) -> None:
    await writer.append(new_entries(4))
    await app.state.runtime.services["ledger_checkpointer"].checkpoint_now()
    for path, params in OUT_OF_RANGE:
        r = await client.get(path, params=params)
        assert r.status_code == 400, (path, params, r.text)
        assert r.json()["code"] == "proof_out_of_range"


async def test_triggers_refuse_update_and_delete(app: Any, writer: LedgerWriter) -> None:
    await writer.append(new_entries(4))
    await app.state.runtime.services["ledger_checkpointer"].checkpoint_now()
    db = app.state.runtime.db
    for table, column in (("ledger_entries", "actor"), ("ledger_nodes", "level"), ("ledger_checkpoints", "note")):
        for sql in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):  # noqa: S608 - fixed names
            with pytest.raises(Exception, match="append-only"):
                async with db.write() as conn:
                    await conn.execute(text(sql))
        async with db.read() as conn:
            count = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608 - fixed
        assert count > 0
