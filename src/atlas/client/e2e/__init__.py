"""ATLAS E2E v1: device keys bound to the wallet, X3DH and the Double Ratchet (docs/protocol.md).

The SDK surface: :class:`Device` (keys, sessions, encrypt/decrypt of CONTRACT §4 payloads),
:mod:`atlas.client.e2e.api` (HTTP: register, device lists, bundles, envelopes, replenish, revoke),
:func:`verify_bundle` / :func:`verify_device_record` and the errors.
"""

from atlas.client.e2e.bundles import DeviceRecord, PrekeyBundle, verify_bundle, verify_device_record
from atlas.client.e2e.device import Decrypted, Device, IdentityWarning
from atlas.client.e2e.errors import (
    DecryptError,
    E2EError,
    MalformedMessage,
    NoSession,
    PeerHasNoDevices,
    ReplayError,
    TooManySkipped,
    UnknownDevice,
    UntrustedBundle,
)

__all__ = [
    "Decrypted",
    "DecryptError",
    "Device",
    "DeviceRecord",
    "E2EError",
    "IdentityWarning",
    "MalformedMessage",
    "NoSession",
    "PeerHasNoDevices",
    "PrekeyBundle",
    "ReplayError",
    "TooManySkipped",
    "UnknownDevice",
    "UntrustedBundle",
    "verify_bundle",
    "verify_device_record",
]
