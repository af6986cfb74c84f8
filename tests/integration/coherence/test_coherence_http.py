"""Coherence from ledger entries, its explanation, and replay from the database and from an export."""

from __future__ import annotations

from typing import Any

import httpx
from social_helpers import ledger_entries, projection_caught_up, replay_cli, wait_for
from sqlalchemy import text

from atlas.client.auth import sign_in
from atlas.config import Settings
from atlas.events.models import (
    ConversationStarted,
    ConversationStateChanged,
    DeviceRegistered,
    DeviceRevoked,
    Event,
    MessageSent,
)
from atlas.events.outbox import emit


async def _emit(app: Any, events: list[Event]) -> None:
    """What the devices and chat domains write, through the same outbox path."""
    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        await emit(conn, events, at=runtime.clock.now())
    runtime.committed()


async def test_terms_follow_the_ledger(app: Any, client: httpx.AsyncClient, settings: Settings) -> None:
    alice = await sign_in(client)
    bob = await sign_in(client)
    carol = await sign_in(client)
    await wait_for(lambda: projection_caught_up(app, client))
    fresh = (await client.get(f"/v1/coherence/{alice.wallet}")).json()
    assert fresh["formula_version"] == 1
    assert fresh["score"] == 0
    assert fresh["trust_level"] == "UNKNOWN"
    entries = await ledger_entries(client)
    mine = [e["seq"] for e in entries if alice.wallet in (e["actor"], e["payload"].get("peer"))]
    assert fresh["as_of_seq"] == mine[-1]

    a, b, c = alice.wallet, bob.wallet, carol.wallet
    await _emit(app, [
        DeviceRegistered(actor=a, device_id="11111111-1111-4111-8111-111111111111", identity_key_hash="00"),
        DeviceRegistered(actor=a, device_id="22222222-2222-4222-8222-222222222222", identity_key_hash="00"),
        DeviceRevoked(actor=a, device_id="22222222-2222-4222-8222-222222222222"),
        ConversationStarted(actor=a, conversation_hash="h1", peer=b),
        MessageSent(actor=a, conversation_hash="h1", peer=b, seq=1, size_bucket=1, envelope_hash="e1"),
        ConversationStateChanged(actor=b, conversation_hash="h1", peer=a, state="accepted"),
        MessageSent(actor=b, conversation_hash="h1", peer=a, seq=2, size_bucket=1, envelope_hash="e2"),
        ConversationStateChanged(actor=c, conversation_hash="h2", peer=a, state="blocked"),
    ])
    await wait_for(lambda: projection_caught_up(app, client))
    explain = (await client.get(f"/v1/explain/coherence/{a}")).json()
    terms = {t["name"]: t for t in explain["terms"]}
    assert terms["device_keys"]["value"] == 750
    assert len(terms["device_keys"]["seqs"]) == 1
    assert terms["reciprocity"]["value"] == 400
    assert len(terms["reciprocity"]["seqs"]) == 3
    assert terms["blocks_received"]["value"] == -1000
    assert explain["score"] == max(0, sum(t["value"] for t in terms.values()))
    by_seq = {e["seq"]: e for e in await ledger_entries(client)}
    for seq in terms["reciprocity"]["seqs"]:
        assert by_seq[seq]["event_type"] in ("MESSAGE_SENT", "CONVERSATION_STATE_CHANGED")
    assert by_seq[terms["blocks_received"]["seqs"][0]]["actor"] == c
    score = (await client.get(f"/v1/coherence/{a}")).json()
    assert score["score"] == explain["score"]
    assert score["as_of_seq"] == explain["as_of_seq"] == max(
        s for s, e in by_seq.items() if a in (e["actor"], e["payload"].get("peer"))
    )
    profile = (await client.get(f"/v1/users/{a}")).json()
    assert profile["coherence"] == {"score": score["score"], "trust_level": score["trust_level"]}

    assert (await client.get("/v1/coherence/0x" + "12" * 20)).status_code == 404
    assert (await client.get("/v1/explain/coherence/nope")).status_code == 422

    code, out = await replay_cli(settings)
    assert code == 0, out

    export = settings.data_dir / "ledger.jsonl"
    export.write_bytes((await client.get("/v1/genesis/export")).content)
    code, out = await replay_cli(settings, str(export))
    assert code == 0, out

    async with app.state.runtime.db.write() as conn:
        await conn.execute(text("UPDATE coherence_scores SET score = score + 1 WHERE wallet = :w"), {"w": a})
        await conn.execute(text("DELETE FROM coherence_links WHERE wallet = :w AND peer = :p"), {"w": b, "p": a})
    code, out = await replay_cli(settings)
    assert code == 1
    assert f"coherence_scores[{a}].score" in out
    assert f"coherence_links[{b},{a}]: row missing from the live table" in out
