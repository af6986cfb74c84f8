"""The referral tree: depth, activation marks, counts and paging."""

from __future__ import annotations

from typing import Any

import httpx
from social_helpers import activate_via_chat, projection_caught_up, wait_for

from atlas.client.auth import sign_in


async def test_tree_depth_paging_and_counts(app: Any, client: httpx.AsyncClient) -> None:
    root = await sign_in(client)
    code = (await client.get(f"/v1/users/{root.wallet}")).json()["referral_code"]
    kids = [await sign_in(client, referral_code=code) for _ in range(3)]
    kid_code = (await client.get(f"/v1/users/{kids[0].wallet}")).json()["referral_code"]
    grandkid = await sign_in(client, referral_code=kid_code)
    gk_code = (await client.get(f"/v1/users/{grandkid.wallet}")).json()["referral_code"]
    great = await sign_in(client, referral_code=gk_code)
    await client.patch("/v1/users/me", json={"display_name": "Kid"}, headers=kids[1].headers)
    await activate_via_chat(app, kids[1].wallet)
    await wait_for(lambda: projection_caught_up(app, client))

    one = (await client.get(f"/v1/users/{root.wallet}/referrals")).json()
    assert one["depth"] == 1
    assert one["referral_count"] == 3
    assert one["activated_count"] == 1
    assert sorted(n["wallet"] for n in one["items"]) == sorted(k.wallet for k in kids)
    assert {n["wallet"]: n["activated"] for n in one["items"]}[kids[1].wallet] is True
    assert {n["wallet"]: n["referral_count"] for n in one["items"]}[kids[0].wallet] == 1

    three = (await client.get(f"/v1/users/{root.wallet}/referrals", params={"depth": 3})).json()
    assert three["counts_by_depth"] == {
        "1": {"accepted": 3, "activated": 1},
        "2": {"accepted": 1, "activated": 0},
        "3": {"accepted": 1, "activated": 0},
    }
    assert [n["depth"] for n in three["items"]] == [1, 1, 1, 2, 3]
    assert three["items"][-1]["wallet"] == great.wallet
    assert three["items"][-1]["referrer"] == grandkid.wallet

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"depth": 3, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"/v1/users/{root.wallet}/referrals", params=params)).json()
        seen += [n["wallet"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [n["wallet"] for n in three["items"]]

    too_deep = await client.get(f"/v1/users/{root.wallet}/referrals", params={"depth": 4})
    assert too_deep.status_code == 422
    bad_cursor = await client.get(f"/v1/users/{root.wallet}/referrals", params={"cursor": "nonsense"})
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["code"] == "cursor_invalid"
    assert (await client.get("/v1/users/0x" + "cd" * 20 + "/referrals")).status_code == 404
    assert (await client.get("/v1/referrals/ZZZZZZZZ")).status_code == 404
