"""Python SDK ↔ browser implementation through the real server: the JS device's registration body
(its wallet binding and signed prekey) must pass the server's verification, and the device lists and
prekey bundles exactly as the server serves them must pass the JS verification — both directions,
with the server relaying only the CONTRACT §4 payloads."""

from __future__ import annotations

from typing import Any

import httpx

from atlas.client.auth import sign_in
from atlas.client.e2e import api
from atlas.client.e2e.device import Device

CONV = "7e57c0de-0000-4000-8000-00000000e2e5"


def text(t: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": t, "sent_at": "2026-11-26T08:00:00Z"}


async def test_python_and_js_through_the_server(client: httpx.AsyncClient, js_peer: Any) -> None:
    alice, jay = await sign_in(client), await sign_in(client)
    py1 = Device.generate(alice.wallet)
    await api.register(client, py1, alice.account, alice.headers, one_time_prekeys=5)

    # The JS device registers with a body built and signed by the JS implementation.
    js = js_peer.call("init", wallet_key=jay.account.key.hex(), opks=5, issued_at="2026-11-26T08:00:00Z")
    assert js["wallet"] == jay.wallet
    put = await client.put(f"/v1/devices/{js['device_id']}", json=js["registration"], headers=jay.headers)
    assert put.status_code in (200, 201), put.text

    async def js_trusts(wallet: str) -> None:
        listing = (await client.get(f"/v1/users/{wallet}/devices")).json()
        for record in listing["devices"]:
            js_peer.call("trust", wallet=wallet, record=record)  # verified in JS; raises if forged

    def js_open(sender_wallet: str, envelope: dict[str, Any]) -> str:
        [mine] = [p for p in envelope["payloads"] if p["device_id"] == js["device_id"]]
        out = js_peer.call(
            "decrypt",
            conversation_id=CONV,
            sender_wallet=sender_wallet,
            sender_device=envelope["sender_device"],
            payload=mine,
        )
        return str(out["message"]["text"])

    def js_envelope(recipients: list[tuple[str, str]], t: str) -> dict[str, Any]:
        payloads = js_peer.call(
            "encrypt",
            conversation_id=CONV,
            recipients=[{"wallet": w, "device_id": d} for w, d in recipients],
            message=text(t),
        )["payloads"]
        return {
            "client_msg_id": "00000000-0000-4000-8000-000000000001",
            "sender_device": js["device_id"],
            "payloads": payloads,
        }

    # Python → JS: the SDK fetched and verified the JS device's bundle from the server.
    env = await api.build_envelope(client, py1, CONV, jay.wallet, text("hello from python"))
    assert {p["device_id"] for p in env["payloads"]} == {js["device_id"]}
    await js_trusts(alice.wallet)
    assert js_open(alice.wallet, env) == "hello from python"

    # JS → Python in that session; the SDK opens it.
    back = js_envelope([(alice.wallet, py1.device_id)], "hello from js")
    got = await api.open_envelope(client, py1, CONV, jay.wallet, back)
    assert got is not None
    assert got.message["text"] == "hello from js"

    # Alice adds a second device; JS initiates to it from the bundle exactly as the server serves it,
    # and py2 verifies the JS device's binding from the server's device list before decrypting.
    py2 = Device.generate(alice.wallet)
    await api.register(client, py2, alice.account, alice.headers, one_time_prekeys=5)
    bundle = (await client.get(f"/v1/users/{alice.wallet}/devices/{py2.device_id}/prekey-bundle")).json()
    js_peer.call("start_session", wallet=alice.wallet, device_id=py2.device_id, bundle=bundle)
    fan = js_envelope(
        [(alice.wallet, py1.device_id), (alice.wallet, py2.device_id)], "to both of alice's devices"
    )
    assert {p["device_id"]: p["kind"] for p in fan["payloads"]} == {
        py1.device_id: "message",
        py2.device_id: "prekey",
    }
    for d in (py1, py2):
        opened = await api.open_envelope(client, d, CONV, jay.wallet, fan)
        assert opened is not None
        assert opened.message["text"] == "to both of alice's devices"

    # And back from py2: a DH ratchet turn on the JS side.
    reply = await api.build_envelope(client, py2, CONV, jay.wallet, text("py2 here"))
    assert js_open(alice.wallet, reply) == "py2 here"


async def test_server_refuses_a_js_registration_signed_by_another_wallet(
    client: httpx.AsyncClient, js_peer: Any
) -> None:
    jay, mallory = await sign_in(client), await sign_in(client)
    js = js_peer.call("init", wallet_key=mallory.account.key.hex(), opks=1)
    put = await client.put(f"/v1/devices/{js['device_id']}", json=js["registration"], headers=jay.headers)
    assert put.status_code in (400, 403, 422), put.text
    assert put.headers["content-type"].startswith("application/problem+json")
