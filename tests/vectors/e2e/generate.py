"""Generate the ATLAS E2E v1 test vectors from the Python implementation.

    .venv/bin/python tests/vectors/e2e/generate.py          # rewrite the JSON files next to this script
    .venv/bin/python tests/vectors/e2e/generate.py --check  # exit 1 if the committed files differ

Everything is deterministic: private keys are SHA-256 of a label (listed in each file), and each
side's key generator hands out its listed keys in order. Binary values are lowercase hex unless a
field name ends in ``_b64`` (standard base64, as on the wire). The browser implementation must
reproduce every value (see web/ tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

from atlas.client.e2e import backup, binding, primitives, ratchet, safety, wire, x3dh
from atlas.client.e2e.session import Session
from atlas.kit.canonical import canonical_bytes

HERE = Path(__file__).resolve().parent

CONVERSATION = "6f1c2a4e-2d7b-4c1e-9a53-0d3f1b2c9e10"
ALICE_WALLET_KEY = "0x" + hashlib.sha256(b"ATLAS-E2E-v1 test vector wallet alice").hexdigest()
BOB_WALLET_KEY = "0x" + hashlib.sha256(b"ATLAS-E2E-v1 test vector wallet bob").hexdigest()
ALICE_DEVICE = "0a1b2c3d-0000-4000-8000-00000000a11c"
BOB_DEVICE = "0b0b0b0b-0000-4000-8000-000000000b0b"
ISSUED_AT = "2026-11-26T08:00:00Z"


def h(b: bytes) -> str:
    return b.hex()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def key(label: str) -> bytes:
    return hashlib.sha256(f"ATLAS-E2E-v1 test vector {label}".encode()).digest()


class DetKeyGen:
    """Hands out SHA-256("ATLAS-E2E-v1 test vector <side>/keygen/<i>") for i = 0, 1, …"""

    def __init__(self, side: str) -> None:
        self.side = side
        self.used: list[dict[str, str]] = []

    def __call__(self) -> bytes:
        label = f"{self.side}/keygen/{len(self.used)}"
        priv = key(label)
        self.used.append({"label": label, "private": h(priv), "public": h(primitives.x25519_public(priv))})
        return priv


def keypair(label: str) -> dict[str, str]:
    priv = key(label)
    return {"label": label, "private": h(priv), "public": h(primitives.x25519_public(priv))}


# ---------------------------------------------------------------------------------------------
def primitives_vectors() -> dict[str, Any]:
    a, b = key("prim/a"), key("prim/b")
    low_order = bytes(32)  # the point 0: X25519 output is all zero and must be rejected
    ck0 = key("prim/chain")
    steps = []
    ck = ck0
    for i in range(3):
        nxt, mk = ratchet.kdf_ck(ck)
        k, n = ratchet.message_key_material(mk)
        steps.append({"i": i, "ck": h(ck), "mk": h(mk), "next_ck": h(nxt), "aead_key": h(k), "nonce": h(n)})
        ck = nxt
    rk = key("prim/root")
    dh_out = primitives.x25519(a, primitives.x25519_public(b))
    rk2, ck2 = ratchet.kdf_rk(rk, dh_out)
    aead_key, aead_nonce = key("prim/aead-key"), key("prim/aead-nonce")[:12]
    aead_pt, aead_ad = b"ATLAS", b"ad"
    return {
        "description": "Building blocks. x25519 private keys are raw 32 bytes (clamped inside X25519).",
        "protocol": primitives.PROTOCOL.decode(),
        "x25519": {
            "a": keypair("prim/a"),
            "b": keypair("prim/b"),
            "shared": h(dh_out),
            "reject_all_zero_output": {"private": h(a), "public": h(low_order)},
        },
        "hkdf": [
            {
                "salt": h(bytes(32)),
                "ikm": h(key("prim/ikm")),
                "info": "ATLAS-E2E-v1/x3dh",
                "length": 32,
                "okm": h(primitives.hkdf(bytes(32), key("prim/ikm"), b"ATLAS-E2E-v1/x3dh", 32)),
            },
            {
                "salt": h(key("prim/salt")),
                "ikm": h(key("prim/ikm")),
                "info": "ATLAS-E2E-v1/root",
                "length": 64,
                "okm": h(primitives.hkdf(key("prim/salt"), key("prim/ikm"), b"ATLAS-E2E-v1/root", 64)),
            },
        ],
        "kdf_rk": {"rk": h(rk), "dh_out": h(dh_out), "next_rk": h(rk2), "ck": h(ck2)},
        "kdf_ck": steps,
        "chacha20poly1305": {
            "key": h(aead_key),
            "nonce": h(aead_nonce),
            "plaintext": h(aead_pt),
            "ad": h(aead_ad),
            "ciphertext": h(primitives.aead_encrypt(aead_key, aead_nonce, aead_pt, aead_ad)),
        },
        "ed25519": {
            "seed": h(key("prim/ed")),
            "public": h(primitives.ed25519_public(key("prim/ed"))),
            "message": h(primitives.x25519_public(b)),
            "signature": h(primitives.ed25519_sign(key("prim/ed"), primitives.x25519_public(b))),
        },
    }


def padding_vectors() -> dict[str, Any]:
    cases = []
    for n in (0, 1, 62, 63, 64, 65, 127, 128, 200):
        data = bytes((i * 7 + 1) % 256 for i in range(n))
        cases.append({"input": h(data), "padded": h(wire.pad(data))})
    bad = [h(b""), h(bytes(64)), h(b"\x01" + bytes(63)), h(b"\x80\x80" + bytes(62))[:-2] + "01"]
    plain = {"v": 1, "type": "text", "text": "héllo 👋", "sent_at": "2026-11-26T08:00:00Z"}
    return {
        "description": "pad: append 0x80 then 0x00 up to the next multiple of 64 (at least one byte). "
        "unpad: strip trailing 0x00, then exactly one 0x80; the 'invalid' inputs must be refused.",
        "cases": cases,
        "invalid_padded": bad,
        "plaintext": {"object": plain, "canonical_utf8": h(canonical_bytes(plain))},
    }


def binding_vectors() -> dict[str, Any]:
    alice = Account.from_key(ALICE_WALLET_KEY)
    ik = primitives.x25519_public(key("alice/identity"))
    sig_pub = primitives.ed25519_public(key("alice/signing"))
    text = binding.binding_statement(alice.address, ALICE_DEVICE, b64(ik), b64(sig_pub), ISSUED_AT)
    signature = binding.personal_sign(alice, text)
    spk = primitives.x25519_public(key("alice/spk/1"))
    backup_text = binding.backup_statement(alice.address)
    return {
        "description": "CONTRACT §5 binding statement and its EIP-191 signature (RFC 6979, deterministic); "
        "the signed prekey signature is Ed25519 over the raw 32-byte public key.",
        "wallet_private_key": ALICE_WALLET_KEY,
        "wallet": alice.address.lower(),
        "device_id": ALICE_DEVICE,
        "identity_key_b64": b64(ik),
        "signing_key_b64": b64(sig_pub),
        "issued_at": ISSUED_AT,
        "statement": text,
        "binding_signature": signature,
        "signed_prekey": {
            "signing_seed": h(key("alice/signing")),
            "key_id": 1,
            "public_key_b64": b64(spk),
            "signature_b64": b64(primitives.ed25519_sign(key("alice/signing"), spk)),
        },
        "tampered": {
            "statement_other_device": binding.binding_statement(
                alice.address, BOB_DEVICE, b64(ik), b64(sig_pub), ISSUED_AT
            ),
            "recovers_to_other_address": binding.recover_personal(
                binding.binding_statement(alice.address, BOB_DEVICE, b64(ik), b64(sig_pub), ISSUED_AT),
                signature,
            ),
        },
        "backup_statement": backup_text,
        "backup_signature": binding.personal_sign(alice, backup_text),
    }


def backup_vectors() -> dict[str, Any]:
    alice = Account.from_key(ALICE_WALLET_KEY)
    signature = binding.personal_sign(alice, binding.backup_statement(alice.address))
    bkey = backup.backup_key_from_signature(bytes.fromhex(signature[2:]))
    keys = backup.BackupKeys(key("alice/identity"), key("alice/signing"), 1, key("alice/spk/1"))
    nonce = key("backup/nonce")[:24]
    blob = backup.encrypt_backup(bkey, alice.address, keys, nonce)
    return {
        "description": "backup_key = HKDF(zero salt, 65 signature bytes, 'ATLAS-E2E-v1/backup', 32); blob = 0x01 ‖ "
        "nonce ‖ XChaCha20-Poly1305(backup_key, nonce, canonical JSON, AD = UTF-8(wallet lowercase)).",
        "wallet_private_key": ALICE_WALLET_KEY,
        "wallet": alice.address.lower(),
        "statement": binding.backup_statement(alice.address),
        "signature": signature,
        "backup_key": h(bkey),
        "nonce": h(nonce),
        "plaintext_json": canonical_bytes(keys.to_json()).decode(),
        "blob_b64": b64(blob),
    }


def safety_vectors() -> dict[str, Any]:
    alice = Account.from_key(ALICE_WALLET_KEY).address.lower()
    bob = Account.from_key(BOB_WALLET_KEY).address.lower()
    ik_a = primitives.x25519_public(key("alice/identity"))
    ik_b = primitives.x25519_public(key("bob/identity"))
    number = safety.safety_number(alice, ik_a, bob, ik_b)
    return {
        "description": "fp = iterated SHA-512 (5200 rounds); number = both 30-digit fingerprints sorted, concatenated.",
        "iterations": safety.ITERATIONS,
        "a": {"wallet": alice, "identity_key": h(ik_a), "fingerprint": safety.fingerprint(alice, ik_a)},
        "b": {"wallet": bob, "identity_key": h(ik_b), "fingerprint": safety.fingerprint(bob, ik_b)},
        "safety_number": number,
        "formatted": safety.format_safety_number(number),
    }


def x3dh_vectors() -> dict[str, Any]:
    ik_a, ek_a = key("alice/identity"), key("x3dh/alice/ephemeral")
    ik_b, spk_b, opk_b = key("bob/identity"), key("bob/spk/1"), key("bob/opk/7")
    pub = primitives.x25519_public
    dh1 = primitives.x25519(ik_a, pub(spk_b))
    dh2 = primitives.x25519(ek_a, pub(ik_b))
    dh3 = primitives.x25519(ek_a, pub(spk_b))
    dh4 = primitives.x25519(ek_a, pub(opk_b))
    with_opk = x3dh.initiator_secret(ik_a, ek_a, pub(ik_b), pub(spk_b), pub(opk_b))
    assert with_opk == x3dh.responder_secret(ik_b, spk_b, opk_b, pub(ik_a), pub(ek_a))  # noqa: S101 - self-check
    without = x3dh.initiator_secret(ik_a, ek_a, pub(ik_b), pub(spk_b), None)
    assert without == x3dh.responder_secret(ik_b, spk_b, None, pub(ik_a), pub(ek_a))  # noqa: S101 - self-check
    return {
        "description": "SK = HKDF(zero salt, 0xFF*32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], 'ATLAS-E2E-v1/x3dh', 32).",
        "alice_identity": keypair("alice/identity"),
        "alice_ephemeral": keypair("x3dh/alice/ephemeral"),
        "bob_identity": keypair("bob/identity"),
        "bob_signed_prekey": keypair("bob/spk/1"),
        "bob_one_time_prekey": keypair("bob/opk/7"),
        "dh1": h(dh1),
        "dh2": h(dh2),
        "dh3": h(dh3),
        "dh4": h(dh4),
        "sk_with_opk": h(with_opk),
        "sk_without_opk": h(without),
        "session_ad": h(x3dh.session_ad(pub(ik_a), pub(ik_b))),
    }


def _state(s: Session) -> dict[str, Any]:
    r = s.ratchet
    return {
        "rk": h(r.rk),
        "dhs_public": h(r.dhs_pub),
        "dhr": None if r.dhr is None else h(r.dhr),
        "cks": None if r.cks is None else h(r.cks),
        "ckr": None if r.ckr is None else h(r.ckr),
        "ns": r.ns,
        "nr": r.nr,
        "pn": r.pn,
        "skipped": sorted([f"{h(dh)}:{n}" for dh, n in r.skipped]),
    }


def session_vectors(with_opk: bool = True) -> dict[str, Any]:
    """A full conversation: prekey messages, out-of-order delivery, DH ratchet turns, a late message
    from a previous chain. ``steps`` are in execution order; each is a send or a receive."""
    gen_a, gen_b = DetKeyGen("alice"), DetKeyGen("bob")
    ik_a, ik_b = key("alice/identity"), key("bob/identity")
    spk_b, opk_b = key("bob/spk/1"), key("bob/opk/7")
    pub = primitives.x25519_public
    alice = Session.initiate(
        ik_a, pub(ik_b), 1, pub(spk_b), 7 if with_opk else None, pub(opk_b) if with_opk else None, gen_a
    )
    bob: Session | None = None
    ctx_ab = wire.context_bytes(CONVERSATION, ALICE_DEVICE, BOB_DEVICE)
    ctx_ba = wire.context_bytes(CONVERSATION, BOB_DEVICE, ALICE_DEVICE)
    steps: list[dict[str, Any]] = []
    sent: dict[str, dict[str, Any]] = {}
    counter = [0]

    def send(name: str, who: str, text: str) -> None:
        s = alice if who == "alice" else bob
        assert s is not None  # noqa: S101 - script order
        obj = {"v": 1, "type": "text", "text": text, "sent_at": f"2026-11-26T08:00:{counter[0]:02d}Z"}
        counter[0] += 1
        plain = wire.encode_plaintext(obj)
        ck = s.ratchet.cks
        assert ck is not None  # noqa: S101 - script order
        _, mk = ratchet.kdf_ck(ck)
        aead_key, nonce = ratchet.message_key_material(mk)
        ctx = ctx_ab if who == "alice" else ctx_ba
        kind, body = s.encrypt(plain, ctx)
        header = body[1:41] if kind == "message" else body[73:113]
        ad = ratchet.associated_data(s.ratchet.ad, ctx, header)
        ct = body[41:] if kind == "message" else body[113:]
        rec = {
            "op": "send",
            "name": name,
            "from": who,
            "plaintext": obj,
            "plaintext_utf8": h(plain),
            "padded": h(wire.pad(plain)),
            "chain_key": h(ck),
            "message_key": h(mk),
            "aead_key": h(aead_key),
            "nonce": h(nonce),
            "context": ctx.decode(),
            "header": h(header),
            "ad": h(ad),
            "ciphertext": h(ct),
            "kind": kind,
            "body_b64": b64(body),
            "state_after": _state(s),
        }
        sent[name] = rec
        steps.append(rec)

    def receive(name: str) -> None:
        nonlocal bob
        rec = sent[name]
        body = base64.b64decode(rec["body_b64"])
        if rec["from"] == "alice":
            if rec["kind"] == "prekey":
                prefix, header, ct = wire.decode_prekey(body)
                if bob is None or bob.ephemeral != prefix.ephemeral_key:
                    bob = Session.respond(ik_b, spk_b, opk_b if with_opk else None, prefix, gen_b)
            else:
                header, ct = wire.decode_message(body)
            s: Session = bob  # type: ignore[assignment]  # set by the first prekey message
            plain = s.decrypt(header, ct, ctx_ab)
        else:
            header, ct = wire.decode_message(body)
            s = alice
            plain = s.decrypt(header, ct, ctx_ba)
        assert plain.hex() == rec["plaintext_utf8"]  # noqa: S101 - self-check
        steps.append(
            {
                "op": "receive",
                "name": name,
                "by": "bob" if rec["from"] == "alice" else "alice",
                "state_after": _state(s),
            }
        )

    for n in ("a0", "a1", "a2"):
        send(n, "alice", f"hello bob {n}")
    receive("a0")
    receive("a2")  # out of order: a1's key is stored as skipped
    receive("a1")
    send("b0", "bob", "hi alice b0")
    send("b1", "bob", "hi alice b1")
    receive("b1")  # out of order, and a DH ratchet turn on alice's side
    receive("b0")
    send("a3", "alice", "a3 on a new chain")
    send("a4", "alice", "a4")
    send("a5", "alice", "a5")
    receive("a3")  # ratchet turn on bob's side
    receive("a5")  # a4 skipped
    send("b2", "bob", "b2")
    receive("b2")
    send("a6", "alice", "a6 after another turn")
    receive("a6")
    receive("a4")  # late message from a previous chain, from the skipped store
    assert bob is not None  # noqa: S101 - script order
    replays = ["a0", "a2", "b1", "a4"]
    tamper_base = sent["a6"]
    body = bytearray(base64.b64decode(tamper_base["body_b64"]))
    tampered: list[dict[str, str]] = []
    for where, idx in (
        ("ciphertext", len(body) - 20),
        ("tag", len(body) - 1),
        ("header_n", 40),
        ("header_dh", 5),
    ):
        t = bytearray(body)
        t[idx] ^= 0x01
        tampered.append({"what": f"flip a bit in the {where}", "body_b64": b64(bytes(t))})
    tampered.append({"what": "truncated by one byte", "body_b64": b64(bytes(body[:-1]))})
    tampered.append({"what": "version byte 0x02", "body_b64": b64(b"\x02" + bytes(body[1:]))})
    return {
        "description": "Alice initiates to Bob's device. Each side's key generator is listed in 'keygen' "
        "(alice: EK first, then ratchet keys). Replay each step in order; every value must match. "
        "Receives verify the plaintext and the state after. 'must_fail' are checked at the end against "
        "bob's (or alice's) final state: each must raise and leave the state unchanged.",
        "conversation_id": CONVERSATION,
        "alice_device": ALICE_DEVICE,
        "bob_device": BOB_DEVICE,
        "alice_identity": keypair("alice/identity"),
        "bob_identity": keypair("bob/identity"),
        "bob_signed_prekey": {"key_id": 1, **keypair("bob/spk/1")},
        "bob_one_time_prekey": {"key_id": 7, **keypair("bob/opk/7")} if with_opk else None,
        "keygen": {"alice": gen_a.used, "bob": gen_b.used},
        "steps": steps,
        "must_fail": {
            "replays_to_recipient": [
                {
                    "name": n,
                    "by": "bob" if sent[n]["from"] == "alice" else "alice",
                    "body_b64": sent[n]["body_b64"],
                    "kind": sent[n]["kind"],
                }
                for n in replays
            ],
            "tampered_to_bob_message": tampered,
            "wrong_context": {
                "body_b64": tamper_base["body_b64"],
                "context": wire.context_bytes(
                    "00000000-0000-4000-8000-000000000000", ALICE_DEVICE, BOB_DEVICE
                ).decode(),
            },
        },
    }


FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "primitives.json": primitives_vectors,
    "padding.json": padding_vectors,
    "binding.json": binding_vectors,
    "backup.json": backup_vectors,
    "safety.json": safety_vectors,
    "x3dh.json": x3dh_vectors,
    "session.json": lambda: session_vectors(True),
    "session_no_opk.json": lambda: session_vectors(False),
}


def render(build: Callable[[], dict[str, Any]]) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    bad = 0
    for name, build in FILES.items():
        text = render(build)
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                print(f"{name}: differs from the implementation")
                bad += 1
        else:
            path.write_text(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
