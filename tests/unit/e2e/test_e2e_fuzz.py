"""Garbage never crashes the receiver with anything but an E2E error, and never changes its state."""

from __future__ import annotations

import base64
import copy

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.client.e2e.bundles import verify_bundle, verify_device_record
from atlas.client.e2e.device import Device
from atlas.client.e2e.errors import E2EError
from atlas.client.e2e.testing import bundle_from_registration

_acct_a, _acct_b = Account.create(), Account.create()
_alice, _bob = Device.generate(_acct_a.address), Device.generate(_acct_b.address)
_reg_a = _alice.registration_body(_acct_a, one_time_prekeys=1)
_reg_b = _bob.registration_body(_acct_b, one_time_prekeys=1)
_alice.start_session(
    verify_bundle(_bob.wallet, _bob.device_id, bundle_from_registration(_bob.wallet, _bob.device_id, _reg_b))
)
_bob.trust(
    verify_device_record(_alice.wallet, bundle_from_registration(_alice.wallet, _alice.device_id, _reg_a))
)
_good = _alice.encrypt_for(
    "c", [(_bob.wallet, _bob.device_id)], {"v": 1, "type": "text", "text": "x", "sent_at": "t"}
)[0]
_good_body = base64.b64decode(_good["body"])


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, object]:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        body = draw(st.binary(max_size=400))
    elif choice == 1:  # mutate a real body
        raw = bytearray(_good_body)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        body = bytes(raw[: draw(st.integers(0, len(raw)))])
    elif choice == 2:
        body = _good_body + draw(st.binary(min_size=1, max_size=80))
    else:
        return {
            "device_id": draw(st.one_of(st.text(max_size=40), st.just(_bob.device_id), st.none())),
            "kind": draw(st.sampled_from(["prekey", "message", "other", ""])),
            "body": draw(st.text(max_size=60)),
        }
    return {
        "device_id": _bob.device_id,
        "kind": draw(st.sampled_from(["prekey", "message"])),
        "body": base64.b64encode(body).decode(),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), st.sampled_from([_alice.device_id, "not-a-uuid", ""]))
def test_garbage_raises_only_e2e_errors_and_keeps_state(payload: dict[str, object], sender: str) -> None:
    before = copy.deepcopy(_bob.to_dict())
    try:
        _bob.decrypt("c", _alice.wallet, sender, payload)
    except E2EError:
        pass
    else:
        assert payload["body"] == _good["body"]
        assert sender == _alice.device_id
        return  # the one genuine message may decrypt (at most once: see the replay tests)
    assert _bob.to_dict() == before
