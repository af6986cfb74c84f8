"""Device registry through HTTP: registration, bindings, limits, ownership, prekeys, revocation."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select

from atlas.client.auth import SignedIn, sign_in
from atlas.client.e2e.binding import personal_sign
from atlas.client.e2e.device import Device
from atlas.devices import repository
from atlas.events.tables import outbox


async def registered(
    client: httpx.AsyncClient, who: SignedIn, opks: int = 5
) -> tuple[Device, dict[str, Any]]:
    device = Device.generate(who.wallet)
    body = device.registration_body(who.account, one_time_prekeys=opks)
    r = await client.put(f"/v1/devices/{device.device_id}", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return device, body


async def events(app: Any, event_type: str) -> list[dict[str, Any]]:
    async with app.state.runtime.db.read() as conn:
        rows = await conn.execute(select(outbox).where(outbox.c.event_type == event_type))
        return [dict(r._mapping) for r in rows]


def problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_register_list_idempotent_and_event(client: httpx.AsyncClient, app: Any) -> None:
    alice = await sign_in(client)
    device, body = await registered(client, alice)
    listed = (await client.get(f"/v1/users/{alice.wallet.upper().replace('0X', '0x')}/devices")).json()
    assert listed["wallet"] == alice.wallet
    [entry] = listed["devices"]
    assert entry["device_id"] == device.device_id
    assert entry["identity_key"] == body["identity_key"]
    assert entry["binding_signature"] == body["binding_signature"]
    assert entry["issued_at"] == body["issued_at"]
    assert entry["one_time_prekeys_remaining"] == 5
    again = await client.put(f"/v1/devices/{device.device_id}", json=body, headers=alice.headers)
    assert again.status_code == 200
    assert again.json()["change"] == "unchanged"
    assert again.json()["one_time_prekeys_remaining"] == 5
    [ev] = await events(app, "DEVICE_REGISTERED")
    assert ev["actor"] == alice.wallet
    assert device.device_id in ev["payload"]
    assert body["identity_key"] not in ev["payload"]  # a hash of the key, not the key
    async with app.state.runtime.db.read() as conn:
        assert await repository.active_device_ids(conn, alice.wallet.upper().replace("0X", "0x")) == [
            device.device_id
        ]


async def test_authentication_required(client: httpx.AsyncClient) -> None:
    account = Account.create()
    device = Device.generate(account.address)
    body = device.registration_body(account, one_time_prekeys=0)
    problem(await client.put(f"/v1/devices/{device.device_id}", json=body), 401, "token_missing")
    problem(await client.delete(f"/v1/devices/{device.device_id}"), 401, "token_missing")
    problem(await client.post(f"/v1/devices/{device.device_id}/prekeys", json={}), 401, "token_missing")


async def test_stranger_cannot_take_over_revoke_or_replenish(client: httpx.AsyncClient) -> None:
    alice, mallory = await sign_in(client), await sign_in(client)
    device, body = await registered(client, alice)
    # Mallory signs her own binding for Alice's device id.
    fake = Device.generate(mallory.wallet, device.device_id)
    fake_body = fake.registration_body(mallory.account, one_time_prekeys=1)
    problem(
        await client.put(f"/v1/devices/{device.device_id}", json=fake_body, headers=mallory.headers),
        403,
        "not_device_owner",
    )
    # Alice's own (valid) body replayed by Mallory does not verify for Mallory's wallet.
    problem(
        await client.put(f"/v1/devices/{device.device_id}", json=body, headers=mallory.headers),
        400,
        "binding_invalid",
    )
    problem(
        await client.delete(f"/v1/devices/{device.device_id}", headers=mallory.headers),
        403,
        "not_device_owner",
    )
    more = {"one_time_prekeys": fake.generate_one_time_prekeys(2)}
    problem(
        await client.post(f"/v1/devices/{device.device_id}/prekeys", json=more, headers=mallory.headers),
        403,
        "not_device_owner",
    )
    rotate = {"signed_prekey": fake.rotate_signed_prekey()}
    problem(
        await client.post(f"/v1/devices/{device.device_id}/prekeys", json=rotate, headers=mallory.headers),
        403,
        "not_device_owner",
    )
    listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]
    assert [d["identity_key"] for d in listed] == [body["identity_key"]]
    assert listed[0]["one_time_prekeys_remaining"] == 5
    assert (await client.get(f"/v1/users/{mallory.wallet}/devices")).json()["devices"] == []


async def test_bad_bindings_and_keys_refused(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    device = Device.generate(alice.wallet)
    good = device.registration_body(alice.account, one_time_prekeys=2)
    url = f"/v1/devices/{device.device_id}"
    other = Device.generate(alice.wallet)
    stranger = Account.create()
    by_stranger = {
        **good,
        "binding_signature": personal_sign(stranger, device.binding_statement(good["issued_at"])),
    }
    problem(await client.put(url, json=by_stranger, headers=alice.headers), 400, "binding_invalid")
    swapped_key = {**good, "identity_key": base64.b64encode(other.identity_public).decode()}
    problem(await client.put(url, json=swapped_key, headers=alice.headers), 400, "binding_invalid")
    other_time = {**good, "issued_at": "2026-01-01T00:00:00Z"}
    problem(await client.put(url, json=other_time, headers=alice.headers), 400, "binding_invalid")
    other_device_url = f"/v1/devices/{uuid.uuid4()}"
    problem(await client.put(other_device_url, json=good, headers=alice.headers), 400, "binding_invalid")
    bad_spk = {
        **good,
        "signed_prekey": {**good["signed_prekey"], "public_key": base64.b64encode(other.spk.public).decode()},
    }
    problem(await client.put(url, json=bad_spk, headers=alice.headers), 400, "signed_prekey_invalid")
    for field, value in (
        ("identity_key", "not base64!"),
        ("identity_key", base64.b64encode(b"short").decode()),
        ("signing_key", "AAAA"),
    ):
        problem(await client.put(url, json={**good, field: value}, headers=alice.headers), 422, "invalid_key")
    problem(
        await client.put(url, json={**good, "binding_signature": "0x1234"}, headers=alice.headers),
        400,
        "binding_invalid",
    )
    problem(
        await client.put(url, json={**good, "issued_at": "yesterday"}, headers=alice.headers),
        422,
        "validation_error",
    )
    problem(
        await client.put("/v1/devices/not-a-uuid", json=good, headers=alice.headers), 422, "invalid_device_id"
    )
    r = await client.put(
        url, content=b"{not json", headers={**alice.headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"] == []
    assert (await client.put(url, json=good, headers=alice.headers)).status_code == 201


async def test_eleventh_device_refused_until_one_is_revoked(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    devices = [(await registered(client, alice, opks=0))[0] for _ in range(10)]
    eleventh = Device.generate(alice.wallet)
    body = eleventh.registration_body(alice.account, one_time_prekeys=0)
    r = await client.put(f"/v1/devices/{eleventh.device_id}", json=body, headers=alice.headers)
    problem(r, 409, "device_limit_reached")
    assert r.json()["limit"] == 10
    # Re-uploading one of the ten is still fine.
    d0 = devices[0]
    assert (
        await client.put(
            f"/v1/devices/{d0.device_id}",
            json=d0.registration_body(alice.account, one_time_prekeys=0),
            headers=alice.headers,
        )
    ).status_code == 200
    assert (await client.delete(f"/v1/devices/{d0.device_id}", headers=alice.headers)).status_code == 204
    assert (
        await client.put(f"/v1/devices/{eleventh.device_id}", json=body, headers=alice.headers)
    ).status_code == 201
    assert len((await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]) == 10


async def test_one_time_prekey_handed_out_once(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    device, body = await registered(client, alice, opks=3)
    url = f"/v1/users/{alice.wallet}/devices/{device.device_id}/prekey-bundle"
    got = [(await client.get(url)).json() for _ in range(5)]
    ids = [b["one_time_prekey"]["key_id"] for b in got if b["one_time_prekey"]]
    assert sorted(ids) == sorted(k["key_id"] for k in body["one_time_prekeys"])
    assert [b["one_time_prekey"] for b in got[3:]] == [None, None]
    assert got[4]["signed_prekey"] == body["signed_prekey"]
    assert got[4]["binding_signature"] == body["binding_signature"]
    listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]
    assert listed[0]["one_time_prekeys_remaining"] == 0
    # Re-uploading an already handed-out key does not make it available again.
    r = await client.post(
        f"/v1/devices/{device.device_id}/prekeys",
        json={"one_time_prekeys": body["one_time_prekeys"]},
        headers=alice.headers,
    )
    assert r.status_code == 200
    assert r.json()["one_time_prekeys_remaining"] == 0
    assert (await client.get(url)).json()["one_time_prekey"] is None


async def test_one_time_prekeys_never_twice_under_concurrent_fetches(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    device, _ = await registered(client, alice, opks=0)
    r = await client.post(
        f"/v1/devices/{device.device_id}/prekeys",
        json={"one_time_prekeys": device.generate_one_time_prekeys(25)},
        headers=alice.headers,
    )
    assert r.json()["one_time_prekeys_remaining"] == 25
    url = f"/v1/users/{alice.wallet}/devices/{device.device_id}/prekey-bundle"
    responses = await asyncio.gather(*(client.get(url) for _ in range(40)))
    assert all(r.status_code == 200 for r in responses)
    ids = [r.json()["one_time_prekey"]["key_id"] for r in responses if r.json()["one_time_prekey"]]
    assert len(ids) == 25
    assert len(set(ids)) == 25


async def test_bundle_of_unknown_or_foreign_device_is_404(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_in(client), await sign_in(client)
    device, _ = await registered(client, alice)
    problem(
        await client.get(f"/v1/users/{bob.wallet}/devices/{device.device_id}/prekey-bundle"),
        404,
        "device_not_found",
    )
    problem(
        await client.get(f"/v1/users/{alice.wallet}/devices/{uuid.uuid4()}/prekey-bundle"),
        404,
        "device_not_found",
    )
    problem(await client.get("/v1/users/not-a-wallet/devices"), 422, "invalid_wallet")
    problem(
        await client.get(f"/v1/users/{alice.wallet}/devices/nope/prekey-bundle"), 422, "invalid_device_id"
    )


async def test_key_change_replaces_keys_and_prekeys(client: httpx.AsyncClient, app: Any) -> None:
    alice = await sign_in(client)
    device, body = await registered(client, alice, opks=4)
    fresh = Device.generate(alice.wallet, device.device_id)
    new_body = fresh.registration_body(alice.account, one_time_prekeys=2)
    r = await client.put(f"/v1/devices/{device.device_id}", json=new_body, headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["change"] == "keys_changed"
    assert r.json()["identity_key"] == new_body["identity_key"]
    assert r.json()["one_time_prekeys_remaining"] == 2
    bundle = (await client.get(f"/v1/users/{alice.wallet}/devices/{device.device_id}/prekey-bundle")).json()
    assert bundle["one_time_prekey"]["public_key"] in {k["public_key"] for k in new_body["one_time_prekeys"]}
    assert len(await events(app, "DEVICE_REGISTERED")) == 2


async def test_replenish_and_rotate_signed_prekey(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    device, body = await registered(client, alice, opks=1)
    url = f"/v1/devices/{device.device_id}/prekeys"
    spk = device.rotate_signed_prekey()
    r = await client.post(
        url,
        json={"one_time_prekeys": device.generate_one_time_prekeys(10), "signed_prekey": spk},
        headers=alice.headers,
    )
    assert r.status_code == 200
    assert r.json() == {
        "device_id": device.device_id,
        "one_time_prekeys_remaining": 11,
        "signed_prekey_id": spk["key_id"],
    }
    listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"][0]
    assert listed["signed_prekey"] == spk
    forged = {**spk, "signature": base64.b64encode(bytes(64)).decode()}
    problem(
        await client.post(url, json={"signed_prekey": forged}, headers=alice.headers),
        400,
        "signed_prekey_invalid",
    )
    conflict = [{"key_id": body["one_time_prekeys"][0]["key_id"], "public_key": spk["public_key"]}]
    problem(
        await client.post(url, json={"one_time_prekeys": conflict}, headers=alice.headers),
        409,
        "prekey_id_conflict",
    )
    problem(
        await client.post(
            url, json={"one_time_prekeys": [{"key_id": 1, "public_key": "x"}] * 201}, headers=alice.headers
        ),
        422,
        "validation_error",
    )


async def test_revocation(client: httpx.AsyncClient, app: Any) -> None:
    alice = await sign_in(client)
    keep, _ = await registered(client, alice)
    gone, body = await registered(client, alice)
    assert (await client.delete(f"/v1/devices/{gone.device_id}", headers=alice.headers)).status_code == 204
    assert (await client.delete(f"/v1/devices/{gone.device_id}", headers=alice.headers)).status_code == 204
    listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]
    assert [d["device_id"] for d in listed] == [keep.device_id]
    problem(
        await client.get(f"/v1/users/{alice.wallet}/devices/{gone.device_id}/prekey-bundle"),
        404,
        "device_not_found",
    )
    problem(
        await client.put(f"/v1/devices/{gone.device_id}", json=body, headers=alice.headers),
        409,
        "device_revoked",
    )
    problem(
        await client.post(f"/v1/devices/{gone.device_id}/prekeys", json={}, headers=alice.headers),
        409,
        "device_revoked",
    )
    problem(
        await client.delete(f"/v1/devices/{uuid.uuid4()}", headers=alice.headers), 404, "device_not_found"
    )
    [ev] = await events(app, "DEVICE_REVOKED")
    assert gone.device_id in ev["payload"]
    async with app.state.runtime.db.read() as conn:
        assert await repository.active_device_ids(conn, alice.wallet) == [keep.device_id]


@pytest.mark.parametrize("path", ["/v1/devices/{d}", "/v1/devices/{d}/prekeys"])
async def test_garbage_bodies_are_problems_not_500(client: httpx.AsyncClient, path: str) -> None:
    alice = await sign_in(client)
    device, _ = await registered(client, alice)
    url = path.format(d=device.device_id)
    method = client.put if path.endswith("{d}") else client.post
    for body in (
        [],
        {"signed_prekey": 5},
        {"one_time_prekeys": [{"key_id": -1, "public_key": "AA=="}]},
        {"one_time_prekeys": [{"key_id": 2**40, "public_key": "AA=="}]},
        "x",
    ):
        r = await method(url, json=body, headers=alice.headers)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert "code" in r.json()


async def test_solana_account_device_binding(client: httpx.AsyncClient) -> None:
    from atlas.client.auth import sign_in_solana
    from atlas.client.e2e.bundles import verify_device_record

    sol = await sign_in_solana(client)
    device = Device.generate(sol.wallet)
    body = device.registration_body(sol.account, one_time_prekeys=1)
    assert not body["binding_signature"].startswith("0x")
    r = await client.put(f"/v1/devices/{device.device_id}", json=body, headers=sol.headers)
    assert r.status_code == 201, r.text
    [entry] = (await client.get(f"/v1/users/{sol.wallet}/devices")).json()["devices"]
    assert verify_device_record(sol.wallet, entry).identity_key == device.identity_public
    other = Device.generate(sol.wallet)
    forged = {
        **other.registration_body(sol.account, one_time_prekeys=0),
        "identity_key": body["identity_key"],
    }
    problem(
        await client.put(f"/v1/devices/{other.device_id}", json=forged, headers=sol.headers),
        400,
        "binding_invalid",
    )


async def test_device_limit_holds_under_concurrent_registrations(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    bodies = []
    for _ in range(13):
        d = Device.generate(alice.wallet)
        bodies.append((d.device_id, d.registration_body(alice.account, one_time_prekeys=1)))
    responses = await asyncio.gather(
        *(client.put(f"/v1/devices/{i}", json=b, headers=alice.headers) for i, b in bodies)
    )
    assert sorted(r.status_code for r in responses) == [201] * 10 + [409] * 3
    assert len((await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]) == 10


async def test_bundle_fetches_are_rate_limited_per_client(make_settings: Any, client_of: Any) -> None:
    async with client_of(make_settings(rate_prekey_bundle="3/minute")) as client:
        alice = await sign_in(client)
        device, _ = await registered(client, alice, opks=5)
        url = f"/v1/users/{alice.wallet}/devices/{device.device_id}/prekey-bundle"
        assert [(await client.get(url)).status_code for _ in range(3)] == [200, 200, 200]
        limited = await client.get(url)
        problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        # The refused request took nothing: two of the five one-time prekeys are left unclaimed.
        listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]
        assert listed[0]["one_time_prekeys_remaining"] == 2


async def test_one_time_prekeys_cannot_be_drained_by_fetching_bundles(make_settings: Any, client_of: Any) -> None:
    async with client_of(make_settings(rate_one_time_prekeys="2/hour")) as client:
        alice = await sign_in(client)
        device, body = await registered(client, alice, opks=5)
        url = f"/v1/users/{alice.wallet}/devices/{device.device_id}/prekey-bundle"
        got = [(await client.get(url)).json() for _ in range(6)]
        assert [b["one_time_prekey"] is not None for b in got] == [True, True, False, False, False, False]
        # Past the budget the bundle still lets a contact start a session (signed prekey only) ...
        assert all(b["signed_prekey"] == body["signed_prekey"] for b in got)
        # ... and the device keeps the rest of its one-time prekeys for later contacts.
        listed = (await client.get(f"/v1/users/{alice.wallet}/devices")).json()["devices"]
        assert listed[0]["one_time_prekeys_remaining"] == 3
