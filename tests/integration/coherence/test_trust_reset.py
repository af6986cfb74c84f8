"""``atlas events replay --from SEQ --consumer trust`` rebuilds the same tables."""

from __future__ import annotations

from typing import Any

import httpx
from social_helpers import activate_via_chat, projection_caught_up, wait_for

from atlas.client.auth import sign_in
from atlas.coherence.repository import all_table_rows


async def _rows(app: Any) -> Any:
    async with app.state.runtime.db.read() as conn:
        return await all_table_rows(conn)


async def test_reset_from_any_seq_rebuilds_identical_rows(app: Any, client: httpx.AsyncClient) -> None:
    from atlas.events.projections import reset_projection

    alice = await sign_in(client)
    code = (await client.get(f"/v1/users/{alice.wallet}")).json()["referral_code"]
    bob = await sign_in(client, referral_code=code)
    await client.patch("/v1/users/me", json={"display_name": "Bob"}, headers=bob.headers)
    await activate_via_chat(app, bob.wallet)
    await wait_for(lambda: projection_caught_up(app, client))
    before = await _rows(app)
    assert before["points_balances"]
    for from_seq in (0, 3, 7):
        await reset_projection(app.state.runtime, "trust", from_seq)
        await wait_for(lambda: projection_caught_up(app, client))
        assert await _rows(app) == before
