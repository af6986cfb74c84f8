"""Public profiles and the caller-only profile edit."""

from __future__ import annotations

import re
from typing import Any

import httpx
from social_helpers import ledger_entries, wait_for

from atlas.client.auth import sign_in


async def test_new_profile_and_wallet_forms(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    resp = await client.get(f"/v1/users/{alice.wallet.upper().replace('0X', '0x')}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["wallet"] == alice.wallet == alice.wallet.lower()
    assert body["display_name"] is None
    assert body["bio"] is None
    assert body["avatar_url"] is None
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", body["referral_code"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])
    assert body["referral_count"] == 0
    assert body["genesis_points"] == 0
    assert body["coherence"]["trust_level"] in ("UNKNOWN", "VERIFIED", "TRUSTED", "AUTHORITY")
    assert 0 <= body["coherence"]["score"] <= 10_000

    missing = await client.get("/v1/users/0x" + "ab" * 20)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "user_not_found"
    for bad in ["0x123", "not-a-wallet", "0x" + "zz" * 20]:
        invalid = await client.get(f"/v1/users/{bad}")
        assert invalid.status_code in (400, 422)
        assert invalid.json()["code"] == "wallet_invalid"


async def test_patch_me_validates_and_emits(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    resp = await client.patch(
        "/v1/users/me", json={"display_name": "  Zoe\u0301   Q ", "bio": "hello\nworld"}, headers=alice.headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["display_name"] == "Zo\u00e9 Q"
    assert resp.json()["bio"] == "hello\nworld"
    again = await sign_in(client, account=alice.account)
    assert again.response is not None
    assert again.response["profile_exists"] is True

    for body, code in [
        ({"display_name": ""}, "display_name_invalid"),
        ({"display_name": "x" * 51}, "display_name_invalid"),
        ({"display_name": "evil\u202eexe"}, "display_name_invalid"),
        ({"display_name": "a\u200bb"}, "display_name_invalid"),
        ({"bio": "x" * 281}, "bio_invalid"),
        ({"bio": "bell\x07"}, "bio_invalid"),
        ({"wallet": "0x" + "11" * 20}, "validation_error"),
    ]:
        bad = await client.patch("/v1/users/me", json=body, headers=alice.headers)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.json()["code"] == code

    cleared = await client.patch("/v1/users/me", json={"bio": ""}, headers=alice.headers)
    assert cleared.json()["bio"] is None

    async def updates() -> list[dict[str, Any]]:
        return [
            e for e in await ledger_entries(client)
            if e["event_type"] == "PROFILE_UPDATED" and e["actor"] == alice.wallet
        ]

    found = await wait_for(lambda: _at_least(updates, 2))
    assert found[0]["payload"]["fields"] == ["bio", "display_name"]
    assert found[0]["payload"]["display_name_set"] is True
    assert "Zo" not in str(found[0]["payload"])  # the ledger records what changed, not the text


async def _at_least(fetch: Any, n: int) -> Any:
    rows = await fetch()
    return rows if len(rows) >= n else None


async def test_only_the_caller_edits_their_profile(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    mallory = await sign_in(client)
    assert (await client.patch("/v1/users/me", json={"display_name": "Alice"}, headers=alice.headers)).status_code == 200

    anonymous = await client.patch("/v1/users/me", json={"display_name": "Hacked"})
    assert anonymous.status_code == 401
    forged = await client.patch(
        "/v1/users/me", json={"display_name": "Hacked"}, headers={"Authorization": "Bearer nonsense"}
    )
    assert forged.status_code == 401
    other_path = await client.patch(f"/v1/users/{alice.wallet}", json={"display_name": "Hacked"}, headers=mallory.headers)
    assert other_path.status_code == 405
    mine = await client.patch("/v1/users/me", json={"display_name": "Mallory"}, headers=mallory.headers)
    assert mine.json()["wallet"] == mallory.wallet
    assert (await client.get(f"/v1/users/{alice.wallet}")).json()["display_name"] == "Alice"
    me = await client.get("/v1/users/me", headers=alice.headers)
    assert me.json()["wallet"] == alice.wallet
