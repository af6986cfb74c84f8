"""The committed vectors are what the implementation produces, and the building blocks match RFCs."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from atlas.client.e2e import backup, binding, primitives, safety, wire
from atlas.client.e2e.errors import InvalidKey, MalformedMessage

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "e2e"


def _generator():  # type: ignore[no-untyped-def]  # a script loaded by path
    spec = importlib.util.spec_from_file_location("e2e_vector_generator", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name: str) -> dict:  # type: ignore[type-arg]  # free-form JSON
    return json.loads((VECTORS / name).read_text())


def test_committed_vectors_match_the_implementation() -> None:
    gen = _generator()
    for name, build in gen.FILES.items():
        assert (VECTORS / name).read_text() == gen.render(build), name


def test_hkdf_matches_rfc5869_case_1_and_cryptography() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    assert primitives.hkdf(salt, ikm, info, 42) == okm
    for length in (32, 44, 64):
        ref = HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)
        assert primitives.hkdf(salt, ikm, info, length) == ref


def test_x25519_rejects_all_zero_output() -> None:
    v = load("primitives.json")["x25519"]["reject_all_zero_output"]
    with pytest.raises(InvalidKey):
        primitives.x25519(bytes.fromhex(v["private"]), bytes.fromhex(v["public"]))


def test_padding_vectors_and_invalid_padding() -> None:
    v = load("padding.json")
    for case in v["cases"]:
        data = bytes.fromhex(case["input"])
        padded = wire.pad(data)
        assert padded.hex() == case["padded"]
        assert len(padded) % 64 == 0
        assert len(padded) > len(data)
        assert wire.unpad(padded) == data
    for bad in v["invalid_padded"]:
        with pytest.raises(MalformedMessage):
            wire.unpad(bytes.fromhex(bad))


def test_binding_vector_verifies_and_tampering_does_not() -> None:
    v = load("binding.json")
    args = (v["wallet"], v["device_id"], v["identity_key_b64"], v["signing_key_b64"], v["issued_at"])
    assert binding.binding_statement(*args) == v["statement"]
    assert binding.verify_binding(*args, v["binding_signature"])
    assert not binding.verify_binding(
        v["wallet"],
        v["device_id"],
        v["signing_key_b64"],
        v["identity_key_b64"],
        v["issued_at"],
        v["binding_signature"],
    )
    spk = v["signed_prekey"]
    signing = base64.b64decode(v["signing_key_b64"])
    assert binding.verify_signed_prekey(
        signing, base64.b64decode(spk["public_key_b64"]), base64.b64decode(spk["signature_b64"])
    )


def test_backup_vector_round_trip() -> None:
    v = load("backup.json")
    key = bytes.fromhex(v["backup_key"])
    keys = backup.decrypt_backup(key, v["wallet"], base64.b64decode(v["blob_b64"]))
    assert backup.encrypt_backup(key, v["wallet"], keys, bytes.fromhex(v["nonce"])) == base64.b64decode(
        v["blob_b64"]
    )


def test_safety_number_is_symmetric() -> None:
    v = load("safety.json")
    a, b = v["a"], v["b"]
    ik_a, ik_b = bytes.fromhex(a["identity_key"]), bytes.fromhex(b["identity_key"])
    assert safety.safety_number(a["wallet"], ik_a, b["wallet"], ik_b) == v["safety_number"]
    assert safety.safety_number(b["wallet"], ik_b, a["wallet"], ik_a) == v["safety_number"]
    assert safety.safety_number(a["wallet"], ik_b, b["wallet"], ik_a) != v["safety_number"]
