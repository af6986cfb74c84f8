"""Live cross-implementation test: the Python SDK (atlas.client.e2e) and the browser implementation
(web/src/crypto, in node) exchange messages both ways — X3DH from each side, several messages, out
of order, DH ratchet turns each way, replays refused, safety numbers and key backups agreeing.

Both sides only ever see what the server would relay: registration bodies, verified device records
and bundles (built as the server builds them), and CONTRACT §4 payloads.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from eth_account import Account

from atlas.client.e2e.backup import BackupKeys, backup_key_from_signature, decrypt_backup, encrypt_backup
from atlas.client.e2e.binding import backup_statement, personal_sign
from atlas.client.e2e.bundles import verify_bundle, verify_device_record
from atlas.client.e2e.device import Device
from atlas.client.e2e.errors import DecryptError, ReplayError
from atlas.client.e2e.testing import bundle_from_registration, device_record_from_registration

JsPeer = Any  # the js_peer fixture (conftest.JsPeer); its error class is js_peer.Error

CONV = "5d0f8c7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


def wallet_key(label: str) -> str:
    return "0x" + hashlib.sha256(f"atlas interop {label}".encode()).hexdigest()


def text(t: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": t, "sent_at": "2026-11-26T08:00:00Z"}


class Py:
    """The Python side: an eth-account wallet and an SDK Device."""

    def __init__(self, label: str) -> None:
        self.account = Account.from_key(wallet_key(label.split("#")[0]))
        self.wallet = self.account.address.lower()
        self.device = Device.generate(self.wallet)
        self.device_id = self.device.device_id
        self.reg = self.device.registration_body(self.account, one_time_prekeys=5)

    def send(self, to_wallet: str, to_device: str, t: str) -> dict[str, str]:
        [payload] = self.device.encrypt_for(CONV, [(to_wallet, to_device)], text(t))
        return payload

    def recv(self, from_wallet: str, from_device: str, payload: dict[str, str]) -> str:
        got = self.device.decrypt(CONV, from_wallet, from_device, payload)
        assert got.message["type"] == "text"
        return str(got.message["text"])


class Js:
    """The JS side, driven through the node peer."""

    def __init__(self, peer: JsPeer, label: str) -> None:
        self.peer = peer
        key = wallet_key(label.split("#")[0])  # "name#2": another device of the same wallet
        init = peer.call("init", wallet_key=key, opks=5)
        self.wallet: str = init["wallet"]
        self.device_id: str = init["device_id"]
        self.reg: dict[str, Any] = init["registration"]
        assert self.wallet == Account.from_key(key).address.lower()

    def send(self, to_wallet: str, to_device: str, t: str) -> dict[str, str]:
        res = self.peer.call(
            "encrypt",
            conversation_id=CONV,
            recipients=[{"wallet": to_wallet, "device_id": to_device}],
            message=text(t),
        )
        [payload] = res["payloads"]
        return payload  # type: ignore[no-any-return]

    def recv(self, from_wallet: str, from_device: str, payload: dict[str, str]) -> str:
        res = self.peer.call(
            "decrypt",
            conversation_id=CONV,
            sender_wallet=from_wallet,
            sender_device=from_device,
            payload=payload,
        )
        assert res["message"]["type"] == "text"
        return str(res["message"]["text"])


def introduce(py: Py, js: Js) -> None:
    """Each side verifies the other's device record (binding + SPK signature) as a client would."""
    py.device.trust(
        verify_device_record(js.wallet, device_record_from_registration(js.wallet, js.device_id, js.reg))
    )
    js.peer.call(
        "trust", wallet=py.wallet, record=device_record_from_registration(py.wallet, py.device_id, py.reg)
    )


def py_to_js(py: Py, js: Js, texts: list[str]) -> list[dict[str, str]]:
    return [py.send(js.wallet, js.device_id, t) for t in texts]


def js_to_py(js: Js, py: Py, texts: list[str]) -> list[dict[str, str]]:
    return [js.send(py.wallet, py.device_id, t) for t in texts]


def converse(py: Py, js: Js, *, py_first: bool) -> None:
    """Several messages each way, delivered out of order, with a DH ratchet turn on both sides."""
    first, second = (py, js) if py_first else (js, py)

    def send(src: Py | Js, dst: Py | Js, texts: list[str]) -> list[dict[str, str]]:
        return [src.send(dst.wallet, dst.device_id, t) for t in texts]

    def deliver(
        src: Py | Js, dst: Py | Js, payloads: list[dict[str, str]], order: list[int], texts: list[str]
    ) -> None:
        for i in order:
            assert dst.recv(src.wallet, src.device_id, payloads[i]) == texts[i]

    t1 = [f"first {i} from the initiator" for i in range(4)]
    p1 = send(first, second, t1)
    assert [p["kind"] for p in p1] == ["prekey"] * 4
    deliver(first, second, p1, [2, 0, 3, 1], t1)  # out of order, X3DH on the responder side

    t2 = [f"reply {i} ✓ ünïcödé 👋" for i in range(3)]
    p2 = send(second, first, t2)
    assert [p["kind"] for p in p2] == ["message"] * 3
    deliver(second, first, p2, [1, 2, 0], t2)  # a DH ratchet turn on the initiator's side

    t3 = [f"after the turn {i}" for i in range(3)]
    p3 = send(first, second, t3)
    assert [p["kind"] for p in p3] == ["message"] * 3  # the initiator heard back: no more prekey bodies
    deliver(first, second, p3, [0, 2], t3)  # a turn on the responder's side; #1 held back

    t4 = ["second turn back"]
    p4 = send(second, first, t4)
    deliver(second, first, p4, [0], t4)
    deliver(first, second, p3, [1], t3)  # late message from a previous chain (skipped-key store)

    # Replays are refused on both sides.
    err = (second if isinstance(second, Js) else first).peer.Error  # type: ignore[union-attr]
    with pytest.raises((ReplayError, DecryptError, err)) as exc:
        deliver(first, second, p1, [0], t1)
    if isinstance(exc.value, err):
        assert exc.value.code == "replay"
    with pytest.raises((ReplayError, DecryptError, err)):
        deliver(second, first, p2, [2], t2)


@pytest.mark.parametrize("py_first", [True, False], ids=["python-initiates", "js-initiates"])
def test_python_and_js_converse(js_peer: JsPeer, py_first: bool) -> None:
    py, js = Py("python"), Js(js_peer, "javascript")
    introduce(py, js)
    if py_first:
        py.device.start_session(
            verify_bundle(js.wallet, js.device_id, bundle_from_registration(js.wallet, js.device_id, js.reg))
        )
    else:
        js_peer.call(
            "start_session",
            wallet=py.wallet,
            device_id=py.device_id,
            bundle=bundle_from_registration(py.wallet, py.device_id, py.reg),
        )
    converse(py, js, py_first=py_first)

    # The JS state survives a JSON round trip mid-conversation (what IndexedDB storage does).
    js_peer.call("reload")
    p = js.send(py.wallet, py.device_id, "after reload")
    assert py.recv(js.wallet, js.device_id, p) == "after reload"
    p = py.send(js.wallet, js.device_id, "to the reloaded peer")
    assert js.recv(py.wallet, py.device_id, p) == "to the reloaded peer"

    # Both sides show the same safety number.
    js_number = js_peer.call("safety_number", wallet=py.wallet, device_id=py.device_id)["safety_number"]
    assert js_number == py.device.safety_number(js.wallet, js.device_id)
    assert len(js_number) == 60
    assert js_number.isdigit()


def test_without_one_time_prekey(js_peer: JsPeer) -> None:
    """The server ran out of one-time prekeys: X3DH with DH1..DH3 only, both directions."""
    py, js = Py("python-no-opk"), Js(js_peer, "javascript-no-opk")
    introduce(py, js)
    py.device.start_session(
        verify_bundle(
            js.wallet, js.device_id, bundle_from_registration(js.wallet, js.device_id, js.reg, None)
        )
    )
    [p] = py_to_js(py, js, ["no opk"])
    assert base64.b64decode(p["body"])[69:73] == b"\xff\xff\xff\xff"
    assert js.recv(py.wallet, py.device_id, p) == "no opk"
    [q] = js_to_py(js, py, ["ack"])
    assert py.recv(js.wallet, js.device_id, q) == "ack"


def test_simultaneous_initiation(js_peer: JsPeer) -> None:
    """Both sides start a session at once; each one's messages still decrypt on the other side."""
    py, js = Py("python-sim"), Js(js_peer, "javascript-sim")
    introduce(py, js)
    py.device.start_session(
        verify_bundle(js.wallet, js.device_id, bundle_from_registration(js.wallet, js.device_id, js.reg, 0))
    )
    js_peer.call(
        "start_session",
        wallet=py.wallet,
        device_id=py.device_id,
        bundle=bundle_from_registration(py.wallet, py.device_id, py.reg, 0),
    )
    a = py_to_js(py, js, ["py one", "py two"])
    b = js_to_py(js, py, ["js one", "js two"])
    assert js.recv(py.wallet, py.device_id, a[0]) == "py one"
    assert py.recv(js.wallet, js.device_id, b[0]) == "js one"
    assert js.recv(py.wallet, py.device_id, a[1]) == "py two"
    assert py.recv(js.wallet, js.device_id, b[1]) == "js two"
    # Replies continue in the sessions each side now holds.
    [c] = js_to_py(js, py, ["js three"])
    assert py.recv(js.wallet, js.device_id, c) == "js three"
    [d] = py_to_js(py, js, ["py three"])
    assert js.recv(py.wallet, py.device_id, d) == "py three"


def test_unverified_identity_is_refused(js_peer: JsPeer) -> None:
    """A prekey message from a device the JS side has not verified is refused (no silent trust)."""
    py, js = Py("python-untrusted"), Js(js_peer, "javascript-untrusted")
    py.device.start_session(
        verify_bundle(js.wallet, js.device_id, bundle_from_registration(js.wallet, js.device_id, js.reg))
    )
    [p] = py_to_js(py, js, ["who am I"])
    with pytest.raises(js_peer.Error) as exc:
        js.recv(py.wallet, py.device_id, p)
    assert exc.value.code == "unknown_device"


def test_forged_binding_is_refused_by_js(js_peer: JsPeer) -> None:
    """A bundle whose device id was swapped (so the wallet's signature no longer matches) is refused."""
    py, _js = Py("python-forged"), Js(js_peer, "javascript-forged")
    other = Device.generate(py.wallet)
    forged = bundle_from_registration(py.wallet, other.device_id, py.reg)
    with pytest.raises(js_peer.Error) as exc:
        js_peer.call("start_session", wallet=py.wallet, device_id=other.device_id, bundle=forged)
    assert exc.value.code == "binding_invalid"


def test_key_backup_round_trips_across_implementations(js_peer: JsPeer) -> None:
    js = Js(js_peer, "javascript-backup")
    account = Account.from_key(wallet_key("javascript-backup"))
    signed = js_peer.call("backup_sign")
    assert signed["statement"] == backup_statement(js.wallet)
    assert signed["signature"] == personal_sign(account, signed["statement"])  # RFC 6979 on both sides
    key = backup_key_from_signature(bytes.fromhex(signed["signature"][2:]))

    # JS encrypts, Python decrypts.
    blob = base64.b64decode(js_peer.call("backup_encrypt")["blob_b64"])
    keys = decrypt_backup(key, js.wallet, blob)
    state = js_peer.call("state")
    assert base64.b64encode(keys.identity).decode() == state["identity"]
    assert base64.b64encode(keys.signing).decode() == state["signing"]
    assert keys.spk_id == state["spk"]["key_id"]

    # Python encrypts, JS decrypts (the same keys come back).
    py_blob = encrypt_backup(
        key, js.wallet, BackupKeys(keys.identity, keys.signing, keys.spk_id, keys.spk_private)
    )
    back = js_peer.call("backup_decrypt", blob_b64=base64.b64encode(py_blob).decode())
    assert back == keys.to_json()


def test_multi_device_fan_out(js_peers: Any) -> None:
    """Two Python devices of one wallet and two JS devices of another: one envelope carries a payload
    per device (the peer's devices and the sender's other device), across both implementations."""
    p1, p2 = Py("py-multi"), Py("py-multi#2")
    j1, j2 = Js(js_peers(), "js-multi"), Js(js_peers(), "js-multi#2")
    assert p1.wallet == p2.wallet
    assert j1.wallet == j2.wallet
    everyone: list[Py | Js] = [p1, p2, j1, j2]
    for a in everyone:  # every device verifies every other device's record
        for b in everyone:
            if a is b:
                continue
            rec = device_record_from_registration(b.wallet, b.device_id, b.reg)
            if isinstance(a, Py):
                a.device.trust(verify_device_record(b.wallet, rec))
            else:
                a.peer.call("trust", wallet=b.wallet, record=rec)

    def start(a: Py | Js, b: Py | Js) -> None:
        raw = bundle_from_registration(b.wallet, b.device_id, b.reg, None)
        if isinstance(a, Py):
            a.device.start_session(verify_bundle(b.wallet, b.device_id, raw))
        else:
            a.peer.call("start_session", wallet=b.wallet, device_id=b.device_id, bundle=raw)

    # j1 sends to p1, p2 and its own other device j2.
    for b in (p1, p2, j2):
        start(j1, b)
    env = j1.peer.call(
        "encrypt",
        conversation_id=CONV,
        recipients=[{"wallet": d.wallet, "device_id": d.device_id} for d in (p1, p2, j2)],
        message=text("to all your devices, and mine"),
    )["payloads"]
    by_device = {p["device_id"]: p for p in env}
    assert set(by_device) == {p1.device_id, p2.device_id, j2.device_id}
    for d in (p1, p2, j2):
        assert d.recv(j1.wallet, j1.device_id, by_device[d.device_id]) == "to all your devices, and mine"

    # p1 replies to j1, j2 and its own other device p2 (p1 → j2 and p1 → p2 are new sessions).
    for b in (j2, p2):
        start(p1, b)
    payloads = p1.device.encrypt_for(
        CONV,
        [(j1.wallet, j1.device_id), (j2.wallet, j2.device_id), (p2.wallet, p2.device_id)],
        text("reply x3"),
    )
    assert [p["kind"] for p in payloads] == ["message", "prekey", "prekey"]
    for d, p in zip((j1, j2, p2), payloads, strict=True):
        assert d.recv(p1.wallet, p1.device_id, p) == "reply x3"

    # A payload for one device does not open on another.
    with pytest.raises(j2.peer.Error):
        j2.recv(p1.wallet, p1.device_id, {**payloads[0], "device_id": j2.device_id})
