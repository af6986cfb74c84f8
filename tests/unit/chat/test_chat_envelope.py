"""Pure envelope rules: limits, base64, device sets, narrowing, ledger metadata."""

from __future__ import annotations

import base64
import uuid

import pytest

from atlas.chat.envelope import (
    check_devices,
    conversation_hash,
    narrow,
    normalize_wallet,
    prepare_send,
    size_bucket,
)
from atlas.chat.errors import EnvelopeTooLarge, InvalidEnvelope, InvalidWallet
from atlas.chat.schemas import Envelope


def _env(*devices: str, body: bytes = b"ciphertext", sender: str | None = None) -> Envelope:
    return Envelope.model_validate(
        {
            "client_msg_id": str(uuid.uuid4()),
            "sender_device": sender or str(uuid.uuid4()),
            "payloads": [{"device_id": d, "kind": "message", "body": base64.b64encode(body).decode()} for d in devices],
        }
    )


def test_wallets_normalise_evm_lowercase_and_keep_solana() -> None:
    assert normalize_wallet("0xABCDEF0123456789abcdef0123456789ABCDEF01") == "0xabcdef0123456789abcdef0123456789abcdef01"
    sol = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
    assert normalize_wallet(sol) == sol
    with pytest.raises(InvalidWallet):
        normalize_wallet("0x1234")


def test_ids_are_lowercased_and_envelope_hash_is_stable() -> None:
    dev = str(uuid.uuid4()).upper()
    env = _env(dev)
    assert env.payloads[0].device_id == dev.lower()
    a = prepare_send("c", "w", env, max_bytes=1000, max_devices=5)
    b = prepare_send("c", "w", env, max_bytes=1000, max_devices=5)
    assert a.envelope_hash == b.envelope_hash
    assert len(a.envelope_hash) == 64
    assert a.bodies == (b"ciphertext",)
    assert a.size == len(b"ciphertext")


def test_limits_and_malformed_payloads_have_codes() -> None:
    with pytest.raises(EnvelopeTooLarge):
        prepare_send("c", "w", _env(str(uuid.uuid4()), body=b"x" * 2000), max_bytes=1000, max_devices=5)
    with pytest.raises(InvalidEnvelope) as too_many:
        prepare_send("c", "w", _env(*(str(uuid.uuid4()) for _ in range(6))), max_bytes=1000, max_devices=5)
    assert too_many.value.instance_code == "too_many_devices"
    d = str(uuid.uuid4())
    with pytest.raises(InvalidEnvelope) as dup:
        prepare_send("c", "w", _env(d, d), max_bytes=1000, max_devices=5)
    assert dup.value.instance_code == "duplicate_device"
    bad = _env(str(uuid.uuid4()))
    bad.payloads[0].body = "not base64!"
    with pytest.raises(InvalidEnvelope) as b64:
        prepare_send("c", "w", bad, max_bytes=1000, max_devices=5)
    assert b64.value.instance_code == "invalid_base64"
    own = str(uuid.uuid4())
    with pytest.raises(InvalidEnvelope) as self_payload:
        prepare_send("c", "w", _env(own, sender=own), max_bytes=1000, max_devices=5)
    assert self_payload.value.instance_code == "payload_for_sender"


def test_device_sets() -> None:
    unknown, missing = check_devices(
        ["p1", "s2", "x"], sender_device="s1", sender_devices={"s1", "s2", "s3"}, peer_devices={"p1", "p2"}
    )
    assert unknown == ["x"]
    assert missing == ["p2", "s3"]
    assert check_devices(["p1", "s2"], sender_device="s1", sender_devices={"s1", "s2"}, peer_devices={"p1"}) == ([], [])


def test_narrow_keeps_only_the_devices_payload() -> None:
    env = {
        "client_msg_id": "m",
        "sender_device": "s",
        "payloads": [{"device_id": "a", "kind": "message", "body": "QQ=="}, {"device_id": "b", "kind": "prekey", "body": "Qg=="}],
    }
    assert narrow(env, "b") == {"client_msg_id": "m", "sender_device": "s", "payloads": [env["payloads"][1]]}
    assert narrow(env, "zzz") is None


def test_ledger_metadata_hides_exact_sizes_and_ids() -> None:
    assert [size_bucket(n) for n in (1, 256, 257, 5000)] == [256, 256, 512, 8192]
    cid = str(uuid.uuid4())
    assert conversation_hash(cid) != conversation_hash(str(uuid.uuid4()))
    assert cid not in conversation_hash(cid)


def test_fast_envelope_serialisation_is_rfc8785() -> None:
    from atlas.chat.envelope import envelope_canonical, envelope_dict
    from atlas.kit.canonical import canonical_bytes

    for devices in (1, 3, 7):
        env = _env(*(str(uuid.uuid4()) for _ in range(devices)), body=bytes(range(256)))
        env.payloads[0].kind = "prekey"
        assert envelope_canonical(env) == canonical_bytes(envelope_dict(env))
