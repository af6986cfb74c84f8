"""The Python E2E SDK against the real server: multi-device fan-out, replies, revocation, key change,
prekey replenishment, and a server that swaps in keys without a valid wallet binding."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from atlas.client.auth import SignedIn, sign_in
from atlas.client.e2e import api
from atlas.client.e2e.device import Device
from atlas.client.e2e.errors import UntrustedBundle

CONV = "3c0ffee0-0000-4000-8000-000000000001"


def text(t: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": t, "sent_at": "2026-11-26T08:00:00Z"}


async def device_of(client: httpx.AsyncClient, who: SignedIn, opks: int = 10) -> Device:
    device = Device.generate(who.wallet)
    await api.register(client, device, who.account, who.headers, one_time_prekeys=opks)
    return device


async def open_all(
    client: httpx.AsyncClient, devices: list[Device], sender: str, envelope: dict[str, Any]
) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for d in devices:
        got = await api.open_envelope(client, d, CONV, sender, envelope)
        out[d.device_id] = None if got is None else str(got.message["text"])
    return out


async def test_multi_device_fan_out_replies_and_revocation(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_in(client), await sign_in(client)
    a1, a2 = await device_of(client, alice), await device_of(client, alice)
    b1, b2 = await device_of(client, bob), await device_of(client, bob)

    env = await api.build_envelope(client, a1, CONV, bob.wallet, text("hello bob"))
    assert env["sender_device"] == a1.device_id
    assert {p["device_id"] for p in env["payloads"]} == {b1.device_id, b2.device_id, a2.device_id}
    assert {p["kind"] for p in env["payloads"]} == {"prekey"}
    assert await open_all(client, [a1, a2, b1, b2], alice.wallet, env) == {
        a1.device_id: None,
        a2.device_id: "hello bob",
        b1.device_id: "hello bob",
        b2.device_id: "hello bob",
    }
    reply = await api.build_envelope(client, b1, CONV, alice.wallet, text("hi alice"))
    assert {p["device_id"] for p in reply["payloads"]} == {a1.device_id, a2.device_id, b2.device_id}
    kinds = {p["device_id"]: p["kind"] for p in reply["payloads"]}
    assert kinds[a1.device_id] == "message"  # a1 started that session
    got = await open_all(client, [a1, a2, b2], bob.wallet, reply)
    assert set(got.values()) == {"hi alice"}
    again = await api.build_envelope(client, a1, CONV, bob.wallet, text("second"))
    assert {p["device_id"]: p["kind"] for p in again["payloads"]}[b1.device_id] == "message"
    assert (await api.open_envelope(client, b1, CONV, alice.wallet, again)).message["text"] == "second"  # type: ignore[union-attr]

    # Bob revokes b2: Alice's next message is no longer encrypted to it.
    await api.revoke(client, b2.device_id, bob.headers)
    after = await api.build_envelope(client, a1, CONV, bob.wallet, text("after revocation"))
    assert {p["device_id"] for p in after["payloads"]} == {b1.device_id, a2.device_id}
    assert (await api.open_envelope(client, b2, CONV, alice.wallet, after)) is None


async def test_one_time_prekeys_are_consumed_and_replenished(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_in(client), await sign_in(client)
    a1 = await device_of(client, alice)
    b1 = await device_of(client, bob, opks=2)
    for _ in range(3):  # three fresh initiators drain Bob's two one-time prekeys, the third goes without
        other = Device.generate(alice.wallet)
        await api.register(client, other, alice.account, alice.headers, one_time_prekeys=0)
        env = await api.build_envelope(client, other, CONV, bob.wallet, text("x"))
        assert (await api.open_envelope(client, b1, CONV, alice.wallet, env)).message["text"] == "x"  # type: ignore[union-attr]
    assert len(b1.opks) == 0
    assert a1.device_id
    topped = await api.replenish(client, b1, bob.headers)
    assert topped is not None
    assert topped["one_time_prekeys_remaining"] == 100
    assert await api.replenish(client, b1, bob.headers) is None


class TamperingTransport(httpx.AsyncBaseTransport):
    """A malicious server: rewrites prekey bundles and device lists for one wallet."""

    def __init__(self, inner: httpx.AsyncBaseTransport, victim: str, mallory_record: dict[str, Any]) -> None:
        self.inner, self.victim, self.mallory = inner, victim, mallory_record
        self.mode = "bundle"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if self.victim not in path or request.method != "GET":
            return response
        await response.aread()
        data = json.loads(response.content)
        if path.endswith("/prekey-bundle") and self.mode == "bundle":
            data["identity_key"] = self.mallory["identity_key"]  # keep the victim's binding signature
        elif path.endswith("/devices") and self.mode == "list":
            data["devices"].append({**self.mallory, "device_id": self.mallory["device_id"]})
        return httpx.Response(response.status_code, json=data, headers={"content-type": "application/json"})


@pytest.mark.parametrize("mode", ["bundle", "list"])
async def test_client_refuses_keys_without_valid_wallet_binding(
    client: httpx.AsyncClient, app: Any, mode: str
) -> None:
    alice, bob, mallory = await sign_in(client), await sign_in(client), await sign_in(client)
    a1 = await device_of(client, alice)
    b1 = await device_of(client, bob)
    m1 = await device_of(client, mallory)
    mallory_record = (await client.get(f"/v1/users/{mallory.wallet}/devices")).json()["devices"][0]
    transport = TamperingTransport(httpx.ASGITransport(app=app), bob.wallet, mallory_record)
    transport.mode = mode
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as evil:
        if mode == "bundle":
            with pytest.raises(UntrustedBundle):
                await api.fetch_bundle(evil, bob.wallet, b1.device_id)
            with pytest.raises(UntrustedBundle):
                await api.build_envelope(evil, a1, CONV, bob.wallet, text("secret"))
            assert not a1.has_session(bob.wallet, b1.device_id)
        else:
            good, rejected = await api.fetch_devices(evil, bob.wallet)
            assert [r.device_id for r in good] == [b1.device_id]
            assert [r["device_id"] for r in rejected] == [m1.device_id]
            env = await api.build_envelope(evil, a1, CONV, bob.wallet, text("secret"))
            assert {p["device_id"] for p in env["payloads"]} == {b1.device_id}
            assert not a1.has_session(bob.wallet, m1.device_id)


async def test_identity_key_change_is_detected_and_surfaced(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_in(client), await sign_in(client)
    a1 = await device_of(client, alice)
    b1 = await device_of(client, bob)
    env = await api.build_envelope(client, a1, CONV, bob.wallet, text("before"))
    assert (await api.open_envelope(client, b1, CONV, alice.wallet, env)).message["text"] == "before"  # type: ignore[union-attr]
    number_before = a1.safety_number(bob.wallet, b1.device_id)
    # Bob reinstalls: same device id, new keys, new binding.
    b1_new = Device.generate(bob.wallet, b1.device_id)
    await api.register(client, b1_new, bob.account, bob.headers)
    env = await api.build_envelope(client, a1, CONV, bob.wallet, text("after"))
    assert a1.identity_changed(bob.wallet, b1.device_id)
    [warning] = a1.identity_warnings
    assert warning.new_identity_key == b1_new.identity_public
    assert a1.safety_number(bob.wallet, b1.device_id) != number_before
    [payload] = env["payloads"]
    assert payload["kind"] == "prekey"
    got = await api.open_envelope(client, b1_new, CONV, alice.wallet, env)
    assert got is not None
    assert got.message["text"] == "after"
    assert base64.b64decode(payload["body"])[1:33] == a1.identity_public


async def test_impersonated_sender_device_is_refused(client: httpx.AsyncClient) -> None:
    from atlas.client.e2e.errors import PeerHasNoDevices

    alice, bob, mallory = await sign_in(client), await sign_in(client), await sign_in(client)
    a1 = await device_of(client, alice)
    b1 = await device_of(client, bob)
    m1 = await device_of(client, mallory)
    env = await api.build_envelope(client, m1, CONV, bob.wallet, text("i am alice"))
    forged = {**env, "sender_device": a1.device_id}  # the server claims it came from Alice's device
    with pytest.raises(UntrustedBundle):
        await api.open_envelope(client, b1, CONV, alice.wallet, forged)
    assert not b1.has_session(alice.wallet, a1.device_id)
    nobody = await sign_in(client)
    with pytest.raises(PeerHasNoDevices):
        await api.build_envelope(client, a1, CONV, nobody.wallet, text("anyone?"))
