"""Property: under any interleaving of sends, reordering, duplication and loss, every delivered
message decrypts exactly once to its plaintext, and duplicates never decrypt."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.client.e2e import wire
from atlas.client.e2e.device import Device
from atlas.client.e2e.errors import DecryptError
from atlas.client.e2e.session import Session

CTX_AB = wire.context_bytes("c", "a", "b")
CTX_BA = wire.context_bytes("c", "b", "a")


def _pair() -> tuple[Session, Session]:
    alice, bob = Device.generate("0x" + "aa" * 20), Device.generate("0x" + "bb" * 20)
    a = Session.initiate(alice.identity_private, bob.identity_public, bob.spk.key_id, bob.spk.public)
    _, body = a.encrypt(b"init", CTX_AB)
    prefix, header, ct = wire.decode_prekey(body)
    b = Session.respond(bob.identity_private, bob.spk.private, None, prefix)
    assert b.decrypt(header, ct, CTX_AB) == b"init"
    return a, b


def _split(kind: str, body: bytes) -> tuple[bytes, bytes]:
    if kind == "prekey":
        _, header, ct = wire.decode_prekey(body)
        return header, ct
    return wire.decode_message(body)


ops = st.lists(
    st.tuples(st.sampled_from(["a_send", "b_send", "deliver", "dup", "drop"]), st.integers(0, 50)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_any_schedule_decrypts_each_message_exactly_once(schedule: list[tuple[str, int]]) -> None:
    a, b = _pair()
    in_flight: list[tuple[str, str, bytes, bytes]] = []  # (to, kind, body, plaintext)
    delivered: list[tuple[str, str, bytes]] = []
    counter = 0
    for op, k in schedule:
        if op in ("a_send", "b_send"):
            src, to, ctx = (a, "b", CTX_AB) if op == "a_send" else (b, "a", CTX_BA)
            plain = f"m{counter}".encode()
            counter += 1
            kind, body = src.encrypt(plain, ctx)
            in_flight.append((to, kind, body, plain))
        elif op == "drop" and in_flight:
            in_flight.pop(k % len(in_flight))
        elif op == "dup" and delivered:
            to, kind, body = delivered[k % len(delivered)]
            dst, ctx = (b, CTX_AB) if to == "b" else (a, CTX_BA)
            header, ct = _split(kind, body)
            try:
                dst.decrypt(header, ct, ctx)
            except DecryptError:
                continue
            raise AssertionError("a duplicate decrypted")
        elif op == "deliver" and in_flight:
            to, kind, body, plain = in_flight.pop(k % len(in_flight))
            dst, ctx = (b, CTX_AB) if to == "b" else (a, CTX_BA)
            header, ct = _split(kind, body)
            assert dst.decrypt(header, ct, ctx) == plain
            delivered.append((to, kind, body))
    for to, kind, body, plain in in_flight:  # whatever is left still arrives, late
        dst, ctx = (b, CTX_AB) if to == "b" else (a, CTX_BA)
        header, ct = _split(kind, body)
        assert dst.decrypt(header, ct, ctx) == plain
