"""Pure envelope handling: validation, hashing, narrowing, and the ledger's metadata fields.

Nothing here decrypts or inspects a payload ``body`` beyond checking it is base64: the server relays
ciphertext and needs only sizes and device ids.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from atlas.chat.errors import EnvelopeTooLarge, InvalidEnvelope, InvalidWallet
from atlas.chat.schemas import Envelope

_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_B58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


def normalize_wallet(value: str) -> str:
    """EVM addresses compare lowercase; Solana (base58) keys are case-sensitive and kept as sent."""
    text = value.strip()
    if _EVM.match(text):
        return text.lower()
    if _B58.match(text):
        return text
    raise InvalidWallet("peer must be an EVM address (0x + 40 hex) or a base58 Solana public key")


def conversation_hash(conversation_id: str) -> str:
    """What the ledger records instead of the conversation id (links entries, names nothing)."""
    return hashlib.sha256(b"atlas/conversation/v1\x00" + conversation_id.encode()).hexdigest()


def size_bucket(size: int) -> int:
    """Ciphertext size rounded up to a power of two (at least 256): the ledger never holds exact sizes."""
    bucket = 256
    while bucket < size:
        bucket *= 2
    return bucket


@dataclass(frozen=True)
class PreparedSend:
    """A validated envelope, ready for the store: decoded bodies and its hash are computed once."""

    conversation_id: str
    sender: str
    envelope: Envelope
    bodies: tuple[bytes, ...]
    size: int
    envelope_hash: str

    @property
    def client_msg_id(self) -> str:
        return self.envelope.client_msg_id

    def wire(self) -> dict[str, Any]:
        return envelope_dict(self.envelope)


def envelope_dict(envelope: Envelope) -> dict[str, Any]:
    return {
        "client_msg_id": envelope.client_msg_id,
        "sender_device": envelope.sender_device,
        "payloads": [{"device_id": p.device_id, "kind": p.kind, "body": p.body} for p in envelope.payloads],
    }


def envelope_canonical(envelope: Envelope) -> bytes:
    """RFC 8785 bytes of the envelope, fast path: every value is an ASCII string the schema checked
    (lowercase UUIDs, base64, ``prekey``/``message``) and every key is ASCII, so sorted-key compact
    ``json.dumps`` output is exactly the JCS serialisation (a unit test holds the two together)."""
    return json.dumps(envelope_dict(envelope), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def prepare_send(
    conversation_id: str,
    sender: str,
    envelope: Envelope,
    *,
    max_bytes: int,
    max_devices: int,
) -> PreparedSend:
    """Check an envelope's shape and limits; raises a chat error with a stable code."""
    if len(envelope.payloads) > max_devices:
        raise InvalidEnvelope(f"at most {max_devices} recipient devices per message", code="too_many_devices")
    seen: set[str] = set()
    bodies: list[bytes] = []
    size = 0
    for payload in envelope.payloads:
        if payload.device_id in seen:
            raise InvalidEnvelope(f"device {payload.device_id} has two payloads", code="duplicate_device")
        if payload.device_id == envelope.sender_device:
            raise InvalidEnvelope("the sending device gets no payload of its own", code="payload_for_sender")
        seen.add(payload.device_id)
        if len(payload.body) > max_bytes * 4 // 3 + 4:
            raise EnvelopeTooLarge(f"the envelope exceeds {max_bytes} bytes of ciphertext")
        try:
            body = base64.b64decode(payload.body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEnvelope("payload body must be standard base64 with padding", code="invalid_base64") from None
        if not body:
            raise InvalidEnvelope("payload body is empty", code="empty_payload")
        size += len(body)
        if size > max_bytes:
            raise EnvelopeTooLarge(f"the envelope exceeds {max_bytes} bytes of ciphertext")
        bodies.append(body)
    digest = hashlib.sha256(envelope_canonical(envelope)).hexdigest()
    return PreparedSend(
        conversation_id=conversation_id,
        sender=sender,
        envelope=envelope,
        bodies=tuple(bodies),
        size=size,
        envelope_hash=digest,
    )


def check_devices(
    given: list[str], *, sender_device: str, sender_devices: set[str], peer_devices: set[str]
) -> tuple[list[str], list[str]]:
    """Returns (unknown, missing): payload devices nobody may receive, and recipients left out."""
    expected = peer_devices | (sender_devices - {sender_device})
    given_set = set(given)
    unknown = sorted(given_set - expected)
    missing = sorted(expected - given_set)
    return unknown, missing


def narrow(envelope: dict[str, Any], device_id: str) -> dict[str, Any] | None:
    """The envelope as one device sees it: only its own payload (None when it has none)."""
    for payload in envelope["payloads"]:
        if payload["device_id"] == device_id:
            return {
                "client_msg_id": envelope["client_msg_id"],
                "sender_device": envelope["sender_device"],
                "payloads": [payload],
            }
    return None
