"""Pure envelope handling: validation, hashing, narrowing, and the ledger's metadata fields.

Nothing here decrypts or inspects a payload ``body`` beyond checking it is base64: the server relays
ciphertext and needs only sizes and device ids.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from atlas.chat.errors import EnvelopeTooLarge, InvalidEnvelope, InvalidWallet
from atlas.chat.schemas import UUID_PATTERN, Envelope

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


@functools.lru_cache(maxsize=16384)
def conversation_hash(conversation_id: str) -> str:
    """What the ledger records instead of the conversation id (links entries, names nothing).

    Cached: every message of a conversation hashes the same id."""
    return hashlib.sha256(b"atlas/conversation/v1\x00" + conversation_id.encode()).hexdigest()


def size_bucket(size: int) -> int:
    """Ciphertext size rounded up to a power of two (at least 256): the ledger never holds exact sizes."""
    bucket = 256
    while bucket < size:
        bucket *= 2
    return bucket


#: One payload as the store needs it: (device_id, kind, body as sent in base64).
WirePayload = tuple[str, str, str]

# The C string encoder behind ``json.dumps(..., ensure_ascii=True)``: the quoted JSON string.
_quote = json.encoder.encode_basestring_ascii
_UUID = re.compile(UUID_PATTERN.removeprefix("^").removesuffix("$"))
_KINDS = frozenset(("prekey", "message"))
_SEND_KEYS = frozenset(("type", "conversation_id", "envelope"))
_ENVELOPE_KEYS = frozenset(("client_msg_id", "sender_device", "payloads"))
_PAYLOAD_KEYS = frozenset(("device_id", "kind", "body"))


@dataclass(slots=True)
class PreparedSend:
    """A validated envelope, ready for the store: decoded bodies and its hash are computed once."""

    conversation_id: str
    sender: str
    client_msg_id: str
    sender_device: str
    payloads: tuple[WirePayload, ...]
    bodies: tuple[bytes, ...]
    size: int
    envelope_hash: str

    def wire(self) -> dict[str, Any]:
        return {
            "client_msg_id": self.client_msg_id,
            "sender_device": self.sender_device,
            "payloads": [{"device_id": d, "kind": k, "body": b} for d, k, b in self.payloads],
        }


def envelope_dict(envelope: Envelope) -> dict[str, Any]:
    return {
        "client_msg_id": envelope.client_msg_id,
        "sender_device": envelope.sender_device,
        "payloads": [{"device_id": p.device_id, "kind": p.kind, "body": p.body} for p in envelope.payloads],
    }


def _canonical(client_msg_id: str, sender_device: str, payloads: tuple[WirePayload, ...]) -> bytes:
    """RFC 8785 bytes of an envelope, fast path: every key is ASCII and written here in sorted
    order, and every value is a string the schema checked (UUIDs, base64, ``prekey``/``message``),
    so this equals sorted-key compact ``json.dumps`` output, which for ASCII strings is exactly the
    JCS serialisation (a unit test holds it to the reference serialiser)."""
    q = _quote
    parts = ",".join(f'{{"body":{q(b)},"device_id":{q(d)},"kind":{q(k)}}}' for d, k, b in payloads)
    return f'{{"client_msg_id":{q(client_msg_id)},"payloads":[{parts}],"sender_device":{q(sender_device)}}}'.encode()


def envelope_canonical(envelope: Envelope) -> bytes:
    """RFC 8785 bytes of a (schema-checked) envelope."""
    return _canonical(
        envelope.client_msg_id, envelope.sender_device, tuple((p.device_id, p.kind, p.body) for p in envelope.payloads)
    )


def prepare_send(
    conversation_id: str,
    sender: str,
    envelope: Envelope,
    *,
    max_bytes: int,
    max_devices: int,
) -> PreparedSend:
    """Check an envelope's shape and limits; raises a chat error with a stable code."""
    payloads = tuple((p.device_id, p.kind, p.body) for p in envelope.payloads)
    return _prepare(
        conversation_id, sender, envelope.client_msg_id, envelope.sender_device, payloads,
        max_bytes=max_bytes, max_devices=max_devices,
    )


def _uuid(value: Any) -> str | None:
    if type(value) is str and _UUID.fullmatch(value):
        return value.lower()
    return None


def parse_send_frame(frame: dict[str, Any]) -> tuple[str, str, str, tuple[WirePayload, ...]] | None:
    """The socket's hot path: a ``send`` frame that is exactly of the schema's shape, read without
    building pydantic models. Returns (conversation_id, client_msg_id, sender_device, payloads) with
    ids lowercased as the schema does, or None for anything else: the caller then validates with
    :class:`~atlas.chat.schemas.SendFrame`, which accepts or refuses it with the usual error. This
    accepts only a subset of what the schema accepts, and normalises it the same way."""
    if frame.keys() != _SEND_KEYS or frame["type"] != "send":
        return None
    envelope = frame["envelope"]
    if type(envelope) is not dict or envelope.keys() != _ENVELOPE_KEYS:
        return None
    cid = _uuid(frame["conversation_id"])
    client_msg_id = _uuid(envelope["client_msg_id"])
    sender_device = _uuid(envelope["sender_device"])
    raw = envelope["payloads"]
    if cid is None or client_msg_id is None or sender_device is None or type(raw) is not list or not raw:
        return None
    payloads: list[WirePayload] = []
    for p in raw:
        if type(p) is not dict or p.keys() != _PAYLOAD_KEYS:
            return None
        device_id = _uuid(p["device_id"])
        kind = p["kind"]
        body = p["body"]
        if device_id is None or type(kind) is not str or kind not in _KINDS or type(body) is not str:
            return None
        payloads.append((device_id, kind, body))
    return cid, client_msg_id, sender_device, tuple(payloads)


def _prepare(
    conversation_id: str,
    sender: str,
    client_msg_id: str,
    sender_device: str,
    payloads: tuple[WirePayload, ...],
    *,
    max_bytes: int,
    max_devices: int,
) -> PreparedSend:
    if len(payloads) > max_devices:
        raise InvalidEnvelope(f"at most {max_devices} recipient devices per message", code="too_many_devices")
    seen: set[str] = set()
    bodies: list[bytes] = []
    size = 0
    body_limit = max_bytes * 4 // 3 + 4
    for device_id, _kind, text in payloads:
        if device_id in seen:
            raise InvalidEnvelope(f"device {device_id} has two payloads", code="duplicate_device")
        if device_id == sender_device:
            raise InvalidEnvelope("the sending device gets no payload of its own", code="payload_for_sender")
        seen.add(device_id)
        if len(text) > body_limit:
            raise EnvelopeTooLarge(f"the envelope exceeds {max_bytes} bytes of ciphertext")
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEnvelope("payload body must be standard base64 with padding", code="invalid_base64") from None
        if not body:
            raise InvalidEnvelope("payload body is empty", code="empty_payload")
        size += len(body)
        if size > max_bytes:
            raise EnvelopeTooLarge(f"the envelope exceeds {max_bytes} bytes of ciphertext")
        bodies.append(body)
    digest = hashlib.sha256(_canonical(client_msg_id, sender_device, payloads)).hexdigest()
    return PreparedSend(conversation_id, sender, client_msg_id, sender_device, payloads, tuple(bodies), size, digest)


def prepare_send_parsed(
    conversation_id: str,
    sender: str,
    parsed: tuple[str, str, str, tuple[WirePayload, ...]],
    *,
    max_bytes: int,
    max_devices: int,
) -> PreparedSend:
    """:func:`prepare_send` for the output of :func:`parse_send_frame` (same checks, same errors)."""
    _, client_msg_id, sender_device, payloads = parsed
    return _prepare(
        conversation_id, sender, client_msg_id, sender_device, payloads, max_bytes=max_bytes, max_devices=max_devices
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
