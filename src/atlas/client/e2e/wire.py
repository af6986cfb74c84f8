"""Wire format of ATLAS E2E v1 bodies, the ratchet header, padding and the plaintext encoding."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from atlas.client.e2e.errors import MalformedMessage
from atlas.kit.canonical import canonical_bytes, loads_strict

VERSION = 0x01
HEADER_LEN = 40
TAG_LEN = 16
PAD_BLOCK = 64
NO_OPK = 0xFFFFFFFF
KIND_PREKEY = "prekey"
KIND_MESSAGE = "message"
_HEADER = struct.Struct(">32sII")
_PREKEY = struct.Struct(">B32s32sII")  # version, IK_A, EK_A, spk_id, opk_id
_MIN_CT = PAD_BLOCK + TAG_LEN


@dataclass(frozen=True, slots=True)
class Header:
    dh: bytes
    pn: int
    n: int

    def encode(self) -> bytes:
        return _HEADER.pack(self.dh, self.pn, self.n)

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        if len(raw) != HEADER_LEN:
            raise MalformedMessage("header must be 40 bytes")
        dh, pn, n = _HEADER.unpack(raw)
        return cls(dh, pn, n)


@dataclass(frozen=True, slots=True)
class PrekeyPrefix:
    """What a ``prekey`` body carries before the header: the X3DH parameters of the initiator."""

    identity_key: bytes
    ephemeral_key: bytes
    spk_id: int
    opk_id: int  # NO_OPK when the server had no one-time prekey left

    def encode(self) -> bytes:
        return _PREKEY.pack(VERSION, self.identity_key, self.ephemeral_key, self.spk_id, self.opk_id)


def encode_message(header: bytes, ciphertext: bytes) -> bytes:
    return bytes((VERSION,)) + header + ciphertext


def encode_prekey(prefix: PrekeyPrefix, header: bytes, ciphertext: bytes) -> bytes:
    return prefix.encode() + header + ciphertext


def _check_ct(ciphertext: bytes) -> None:
    if len(ciphertext) < _MIN_CT or (len(ciphertext) - TAG_LEN) % PAD_BLOCK:
        raise MalformedMessage("ciphertext length is not a padded length")


def decode_message(body: bytes) -> tuple[bytes, bytes]:
    """Split a ``message`` body into (header bytes, ciphertext)."""
    if len(body) < 1 + HEADER_LEN or body[0] != VERSION:
        raise MalformedMessage("not an ATLAS E2E v1 message body")
    ct = body[1 + HEADER_LEN :]
    _check_ct(ct)
    return body[1 : 1 + HEADER_LEN], ct


def decode_prekey(body: bytes) -> tuple[PrekeyPrefix, bytes, bytes]:
    """Split a ``prekey`` body into (X3DH prefix, header bytes, ciphertext)."""
    start = _PREKEY.size
    if len(body) < start + HEADER_LEN or body[0] != VERSION:
        raise MalformedMessage("not an ATLAS E2E v1 prekey body")
    _, ik, ek, spk_id, opk_id = _PREKEY.unpack_from(body)
    ct = body[start + HEADER_LEN :]
    _check_ct(ct)
    return PrekeyPrefix(ik, ek, spk_id, opk_id), body[start : start + HEADER_LEN], ct


def pad(data: bytes) -> bytes:
    """Append 0x80 then zeros up to the next multiple of 64 (always at least one byte)."""
    fill = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + b"\x80" + bytes(fill - 1)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise MalformedMessage("bad padding")
    return stripped[:-1]


def encode_plaintext(obj: dict[str, Any]) -> bytes:
    """Canonical JSON (RFC 8785) of a message object; ``v`` and ``type`` are required."""
    if obj.get("v") != 1 or not isinstance(obj.get("type"), str):
        raise ValueError('plaintext object needs "v": 1 and a string "type"')
    return canonical_bytes(obj)


def decode_plaintext(data: bytes) -> dict[str, Any]:
    try:
        obj = loads_strict(data)
    except ValueError as exc:
        raise MalformedMessage("plaintext is not JSON") from exc
    if not isinstance(obj, dict) or obj.get("v") != 1 or not isinstance(obj.get("type"), str):
        raise MalformedMessage("plaintext is not an ATLAS message object")
    return obj


def context_bytes(conversation_id: str, sender_device: str, recipient_device: str) -> bytes:
    """The AD context: binds a ciphertext to its conversation, sender device and recipient device."""
    return f"{conversation_id.lower()}|{sender_device.lower()}|{recipient_device.lower()}".encode()
