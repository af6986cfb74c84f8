"""Attacks on sessions: forged bundles, replay, reordering, truncation, tampering, forward secrecy
and post-compromise recovery. Pure: two SDK devices and the bundles a server would hand out."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from eth_account import Account

from atlas.client.e2e import ratchet
from atlas.client.e2e.bundles import verify_bundle, verify_device_record
from atlas.client.e2e.device import Device
from atlas.client.e2e.errors import (
    DecryptError,
    MalformedMessage,
    ReplayError,
    TooManySkipped,
    UnknownDevice,
    UntrustedBundle,
)
from atlas.client.e2e.testing import bundle_from_registration

CONV = "11111111-2222-4333-8444-555555555555"


class Party:
    def __init__(self, opks: int = 5) -> None:
        self.account = Account.create()
        self.wallet = self.account.address.lower()
        self.device = Device.generate(self.wallet)
        self.reg = self.device.registration_body(self.account, one_time_prekeys=opks)
        self._next_opk = 0

    def bundle(self, with_opk: bool = True) -> dict[str, Any]:
        idx = self._next_opk if with_opk else None
        if with_opk:
            self._next_opk += 1
        return bundle_from_registration(self.wallet, self.device.device_id, self.reg, idx)


def text(t: str) -> dict[str, Any]:
    return {"v": 1, "type": "text", "text": t, "sent_at": "2026-11-26T08:00:00Z"}


def pair(with_opk: bool = True) -> tuple[Party, Party]:
    alice, bob = Party(), Party()
    alice.device.start_session(verify_bundle(bob.wallet, bob.device.device_id, bob.bundle(with_opk)))
    # Bob learns Alice's identity from her verified device record (as the SDK does on UnknownDevice).
    bob.device.trust(
        verify_device_record(
            alice.wallet, bundle_from_registration(alice.wallet, alice.device.device_id, alice.reg)
        )
    )
    return alice, bob


def send(src: Party, dst: Party, t: str) -> dict[str, str]:
    [payload] = src.device.encrypt_for(CONV, [(dst.wallet, dst.device.device_id)], text(t))
    return payload


def recv(dst: Party, src: Party, payload: dict[str, str], conv: str = CONV) -> str:
    out = dst.device.decrypt(conv, src.wallet, src.device.device_id, payload)
    return str(out.message["text"])


def snapshot(p: Party) -> dict[str, Any]:
    return copy.deepcopy(p.device.to_dict())


# -- bundles ------------------------------------------------------------------------------------


def test_swapped_bundle_without_valid_binding_is_refused() -> None:
    alice, bob, mallory = Party(), Party(), Party()
    # The server swaps in Mallory's keys under Bob's device, keeping Bob's binding signature.
    forged = bob.bundle()
    m = mallory.bundle()
    forged["identity_key"] = m["identity_key"]
    with pytest.raises(UntrustedBundle):
        verify_bundle(bob.wallet, bob.device.device_id, forged)
    # Mallory's own, validly signed bundle served as Bob's device: bound to the wrong wallet.
    with pytest.raises(UntrustedBundle):
        verify_bundle(bob.wallet, mallory.device.device_id, m)
    # A re-signed SPK by another key.
    forged = bob.bundle()
    forged["signed_prekey"] = m["signed_prekey"]
    with pytest.raises(UntrustedBundle):
        verify_bundle(bob.wallet, bob.device.device_id, forged)
    # The record for another device id than the one asked for.
    with pytest.raises(UntrustedBundle):
        verify_bundle(bob.wallet, alice.device.device_id, bob.bundle())
    # Garbage.
    with pytest.raises(UntrustedBundle):
        verify_bundle(bob.wallet, bob.device.device_id, {"device_id": bob.device.device_id})
    assert not alice.device.has_session(bob.wallet, bob.device.device_id)


def test_prekey_message_from_unbound_identity_is_refused() -> None:
    alice, bob = pair()
    mallory = Party()
    mallory.device.start_session(verify_bundle(bob.wallet, bob.device.device_id, bob.bundle()))
    # Mallory claims to be Alice's device: her IK is not the one bound to Alice's device.
    [p] = mallory.device.encrypt_for(CONV, [(bob.wallet, bob.device.device_id)], text("i am alice"))
    with pytest.raises(UnknownDevice):
        bob.device.decrypt(CONV, alice.wallet, alice.device.device_id, p)


# -- messages -----------------------------------------------------------------------------------


def test_round_trip_prekey_then_message_kinds() -> None:
    alice, bob = pair()
    p1 = send(alice, bob, "one")
    assert p1["kind"] == "prekey"
    assert recv(bob, alice, p1) == "one"
    r = send(bob, alice, "two")
    assert r["kind"] == "message"
    assert recv(alice, bob, r) == "two"
    assert send(alice, bob, "three")["kind"] == "message"


@pytest.mark.parametrize("with_opk", [True, False])
def test_replay_never_decrypts_twice(with_opk: bool) -> None:
    alice, bob = pair(with_opk)
    first = send(alice, bob, "a")
    second = send(alice, bob, "b")
    assert recv(bob, alice, first) == "a"
    with pytest.raises(ReplayError):
        recv(bob, alice, first)
    assert recv(bob, alice, second) == "b"
    reply = send(bob, alice, "c")
    assert recv(alice, bob, reply) == "c"
    with pytest.raises(DecryptError):
        recv(alice, bob, reply)
    later = send(alice, bob, "d")
    assert recv(bob, alice, later) == "d"
    for p in (first, second, later):
        with pytest.raises(DecryptError):
            recv(bob, alice, p)


def test_replayed_prekey_message_after_session_is_gone_does_not_decrypt() -> None:
    alice, bob = pair(with_opk=False)
    first = send(alice, bob, "hello")
    assert recv(bob, alice, first) == "hello"
    bob.device.sessions.clear()  # the session was evicted (e.g. archived away)
    with pytest.raises(DecryptError):
        recv(bob, alice, first)


def test_reordered_messages_decrypt_once_each() -> None:
    alice, bob = pair()
    msgs = [send(alice, bob, f"m{i}") for i in range(6)]
    order = [3, 0, 5, 1, 4, 2]
    assert [recv(bob, alice, msgs[i]) for i in order] == [f"m{i}" for i in order]
    for m in msgs:
        with pytest.raises(DecryptError):
            recv(bob, alice, m)


def test_late_message_from_previous_chain_after_ratchet_turn() -> None:
    alice, bob = pair()
    early = [send(alice, bob, f"e{i}") for i in range(3)]
    assert recv(bob, alice, early[0]) == "e0"
    assert recv(alice, bob, send(bob, alice, "turn")) == "turn"
    new = send(alice, bob, "new chain")
    assert recv(bob, alice, new) == "new chain"
    assert recv(bob, alice, early[2]) == "e2"
    assert recv(bob, alice, early[1]) == "e1"


def _mutations(body: bytes, kind: str) -> list[tuple[str, bytes]]:
    header_at = 1 if kind == "message" else 73
    out = [
        ("ciphertext", bytes(b ^ (1 if i == len(body) - 30 else 0) for i, b in enumerate(body))),
        ("tag", body[:-1] + bytes([body[-1] ^ 0x80])),
        ("header dh", body[: header_at + 3] + bytes([body[header_at + 3] ^ 1]) + body[header_at + 4 :]),
        ("header pn", body[: header_at + 35] + bytes([body[header_at + 35] ^ 1]) + body[header_at + 36 :]),
        ("header n", body[: header_at + 39] + bytes([body[header_at + 39] ^ 1]) + body[header_at + 40 :]),
        ("truncated", body[:-1]),
        ("truncated block", body[:-64]),
        ("extended", body + bytes(64)),
        ("version", b"\x02" + body[1:]),
        ("empty", b""),
    ]
    if kind == "prekey":
        out.append(("identity key", body[:5] + bytes([body[5] ^ 1]) + body[6:]))
        out.append(("ephemeral key", body[:40] + bytes([body[40] ^ 1]) + body[41:]))
        out.append(("opk id", body[:72] + bytes([body[72] ^ 1]) + body[73:]))
    return out


@pytest.mark.parametrize("kind", ["prekey", "message"])
def test_tampered_or_truncated_messages_never_decrypt_and_leave_state_unchanged(kind: str) -> None:
    alice, bob = pair()
    if kind == "message":
        assert recv(bob, alice, send(alice, bob, "setup")) == "setup"
        assert recv(alice, bob, send(bob, alice, "ack")) == "ack"
    good = send(alice, bob, "secret")
    assert good["kind"] == kind
    body = base64.b64decode(good["body"])
    before = snapshot(bob)
    for what, mutated in _mutations(body, kind):
        bad = {**good, "body": base64.b64encode(mutated).decode()}
        with pytest.raises((DecryptError, UnknownDevice)):
            recv(bob, alice, bad)
        assert snapshot(bob) == before, what
    assert recv(bob, alice, good) == "secret"


def test_associated_data_binds_conversation_and_devices() -> None:
    alice, bob = pair()
    good = send(alice, bob, "bound")
    other_conv = "99999999-2222-4333-8444-555555555555"
    before = snapshot(bob)
    with pytest.raises(DecryptError):
        recv(bob, alice, good, conv=other_conv)
    # Claimed to come from another (known) sender device of Alice: AD mismatch.
    alice2 = Device.generate(alice.wallet)
    reg2 = alice2.registration_body(alice.account, one_time_prekeys=0)
    bob.device.trust(
        verify_device_record(alice.wallet, bundle_from_registration(alice.wallet, alice2.device_id, reg2))
    )
    with pytest.raises((DecryptError, UnknownDevice)):
        bob.device.decrypt(CONV, alice.wallet, alice2.device_id, good)
    # Addressed to another recipient device.
    with pytest.raises(DecryptError):
        bob.device.decrypt(
            CONV, alice.wallet, alice.device.device_id, {**good, "device_id": alice2.device_id}
        )
    before["known"] = bob.device.to_dict()["known"]
    assert snapshot(bob) == before
    assert recv(bob, alice, good) == "bound"


def test_too_many_skipped_keys_rejected_state_unchanged() -> None:
    alice, bob = pair()
    assert recv(bob, alice, send(alice, bob, "first")) == "first"
    session = alice.device.sessions[(bob.wallet, bob.device.device_id)][0]
    session.ratchet.ns += (
        ratchet.MAX_SKIP + 1
    )  # jump far ahead in the sending chain (simulates 1001 lost messages)
    for _ in range(ratchet.MAX_SKIP + 1):
        session.ratchet.cks, _mk = ratchet.kdf_ck(session.ratchet.cks)  # type: ignore[arg-type]  # set for initiator
    far = send(alice, bob, "far")
    before = snapshot(bob)
    with pytest.raises(TooManySkipped):
        recv(bob, alice, far)
    assert snapshot(bob) == before


def test_exactly_max_skip_is_accepted() -> None:
    alice, bob = pair()
    assert recv(bob, alice, send(alice, bob, "first")) == "first"
    lost = [send(alice, bob, "x") for _ in range(ratchet.MAX_SKIP)]
    assert recv(bob, alice, send(alice, bob, "after 1000 lost")) == "after 1000 lost"
    assert recv(bob, alice, lost[500]) == "x"  # the store now holds 999 keys
    _two_more_lost = [send(alice, bob, "y"), send(alice, bob, "y")]
    beyond = send(alice, bob, "needs 2 more skipped keys")
    before = snapshot(bob)
    with pytest.raises(TooManySkipped):
        recv(bob, alice, beyond)
    assert snapshot(bob) == before
    assert recv(bob, alice, lost[0]) == "x"  # a stored key frees a slot …
    assert recv(bob, alice, _two_more_lost[0]) == "y"  # … no skip needed for the next in line
    assert recv(bob, alice, beyond) == "needs 2 more skipped keys"


# -- forward secrecy and post-compromise security ------------------------------------------------


def test_forward_secrecy_current_state_cannot_decrypt_earlier_messages() -> None:
    alice, bob = pair()
    earlier = [send(alice, bob, f"old {i}") for i in range(3)]
    for p in earlier:
        recv(bob, alice, p)
    assert recv(alice, bob, send(bob, alice, "turn")) == "turn"
    assert recv(bob, alice, send(alice, bob, "now")) == "now"
    # An attacker steals Bob's complete current state, including every private key it holds.
    stolen = Device.from_dict(snapshot(bob))
    for p in earlier:
        with pytest.raises(DecryptError):
            stolen.decrypt(CONV, alice.wallet, alice.device.device_id, p)


def test_post_compromise_security_old_state_cannot_decrypt_after_dh_ratchet() -> None:
    alice, bob = pair()
    assert recv(bob, alice, send(alice, bob, "hi")) == "hi"
    assert recv(alice, bob, send(bob, alice, "hey")) == "hey"
    stolen = Device.from_dict(snapshot(bob))  # compromise of Bob's state now
    # While the attacker holds current chain keys, messages on the current chain are exposed …
    exposed = send(alice, bob, "still on the compromised chain")
    assert stolen.decrypt(CONV, alice.wallet, alice.device.device_id, exposed).message["text"]
    recv(bob, alice, exposed)
    # … then Bob replies (new DH ratchet key the attacker does not know) and Alice answers.
    assert recv(alice, bob, send(bob, alice, "healing")) == "healing"
    healed = send(alice, bob, "after the DH ratchet step")
    with pytest.raises(DecryptError):
        stolen.decrypt(CONV, alice.wallet, alice.device.device_id, healed)
    assert recv(bob, alice, healed) == "after the DH ratchet step"


def test_identity_key_change_resets_and_warns() -> None:
    alice, bob = pair()
    assert recv(bob, alice, send(alice, bob, "hi")) == "hi"
    # Bob reinstalls under the same device id with new keys (a key change).
    new_bob = Device.generate(bob.wallet, bob.device.device_id)
    bob.device, bob.reg, bob._next_opk = (
        new_bob,
        new_bob.registration_body(bob.account, one_time_prekeys=3),
        0,
    )
    changed = alice.device.trust(
        verify_device_record(bob.wallet, bundle_from_registration(bob.wallet, bob.device.device_id, bob.reg))
    )
    assert changed
    assert not alice.device.has_session(bob.wallet, bob.device.device_id)
    assert alice.device.identity_changed(bob.wallet, bob.device.device_id)
    alice.device.start_session(verify_bundle(bob.wallet, bob.device.device_id, bob.bundle()))
    bob.device.trust(
        verify_device_record(
            alice.wallet, bundle_from_registration(alice.wallet, alice.device.device_id, alice.reg)
        )
    )
    assert recv(bob, alice, send(alice, bob, "again")) == "again"
    alice.device.acknowledge_identity(bob.wallet, bob.device.device_id)
    assert not alice.device.identity_changed(bob.wallet, bob.device.device_id)


def test_simultaneous_initiation_converges() -> None:
    alice, bob = pair()
    bob.device.start_session(verify_bundle(alice.wallet, alice.device.device_id, alice.bundle()))
    a1 = send(alice, bob, "from alice")
    b1 = send(bob, alice, "from bob")
    assert recv(bob, alice, a1) == "from alice"
    assert recv(alice, bob, b1) == "from bob"
    for i in range(3):
        assert recv(bob, alice, send(alice, bob, f"a{i}")) == f"a{i}"
        assert recv(alice, bob, send(bob, alice, f"b{i}")) == f"b{i}"


def test_safety_numbers_match_on_both_sides() -> None:
    alice, bob = pair()
    alice_view = alice.device.safety_number(bob.wallet, bob.device.device_id)
    bob_view = bob.device.safety_number(alice.wallet, alice.device.device_id)
    assert alice_view == bob_view
    assert len(alice_view) == 60


def test_backup_restores_identity_and_refuses_other_wallet() -> None:
    alice = Party()
    blob = alice.device.backup(alice.account)
    restored = Device.restore(alice.account, blob, alice.device.device_id)
    assert restored.identity_public == alice.device.identity_public
    assert restored.signing_public == alice.device.signing_public
    with pytest.raises(DecryptError):
        Device.restore(Account.create(), blob, alice.device.device_id)
    with pytest.raises(MalformedMessage):
        Device.restore(alice.account, b"\x02" + blob[1:], alice.device.device_id)


def test_state_persists_through_to_dict() -> None:
    alice, bob = pair()
    assert recv(bob, alice, send(alice, bob, "one")) == "one"
    bob.device = Device.from_dict(bob.device.to_dict())
    alice.device = Device.from_dict(alice.device.to_dict())
    assert recv(alice, bob, send(bob, alice, "two")) == "two"
    assert recv(bob, alice, send(alice, bob, "three")) == "three"


def test_signed_prekey_rotation_keeps_in_flight_prekey_messages() -> None:
    from datetime import UTC, datetime, timedelta

    alice, bob = pair()
    in_flight = send(alice, bob, "sent with the old signed prekey")
    t0 = datetime.now(UTC)
    bob.device.rotate_signed_prekey(now=t0)
    assert recv(bob, alice, in_flight) == "sent with the old signed prekey"
    # A session from a bundle two rotations (> 3 weeks) old: its signed prekey is gone.
    carol = Party()
    carol.device.start_session(verify_bundle(bob.wallet, bob.device.device_id, bob.bundle()))
    bob.device.trust(
        verify_device_record(
            carol.wallet, bundle_from_registration(carol.wallet, carol.device.device_id, carol.reg)
        )
    )
    stale = send(carol, bob, "too late")
    bob.device.rotate_signed_prekey(now=t0 + timedelta(days=22))
    bob.device.rotate_signed_prekey(now=t0 + timedelta(days=29))
    assert all(s.key_id != 1 for s in [bob.device.spk, *bob.device.previous_spks])
    with pytest.raises(DecryptError):
        recv(bob, carol, stale)
