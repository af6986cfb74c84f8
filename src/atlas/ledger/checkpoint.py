"""C2SP tlog-checkpoint notes signed per C2SP signed-note with Ed25519 (CONTRACT §3).

Everything here is pure, so the CLI verifier, the tests and the server share one implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

EM_DASH = "\u2014"
ED25519 = b"\x01"


class CheckpointError(ValueError):
    """A note that does not parse, is signed by another key, or whose signature fails."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519 + public_key).decode()}"


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 key data may itself contain "+"
        if len(parts) != 3 or not parts[0]:
            raise CheckpointError("verifier key must be <name>+<hex key id>+<base64 key>")
        name, hex_id, b64 = parts
        try:
            kid = bytes.fromhex(hex_id)
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise CheckpointError("verifier key is not hex/base64") from exc
        if len(kid) != 4 or len(raw) != 33 or raw[:1] != ED25519:
            raise CheckpointError("verifier key is not an Ed25519 signed-note key")
        if key_id(name, raw[1:]) != kid:
            raise CheckpointError("verifier key id does not match its name and key")
        return cls(name, kid, raw[1:])


class LogSigner:
    def __init__(self, origin: str, seed: bytes) -> None:
        if not origin or any(c.isspace() for c in origin) or "+" in origin:
            raise ValueError("log origin / key name must be non-empty, without spaces or '+'")
        self.origin = origin
        self._key = SigningKey(seed)
        self.public_key = bytes(self._key.verify_key)
        self.key_id = key_id(origin, self.public_key)
        self.verifier_key = verifier_key(origin, self.public_key)

    def sign(self, size: int, root: bytes) -> str:
        text = checkpoint_body(self.origin, size, root)
        sig = self._key.sign(text.encode()).signature
        return f"{text}\n{EM_DASH} {self.origin} {base64.b64encode(self.key_id + sig).decode()}\n"


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Parse a signed checkpoint and check the signature by ``verifier``; raise CheckpointError."""
    if not note.endswith("\n"):
        raise CheckpointError("note must end with a newline")
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise CheckpointError("note has no blank line before its signatures")
    text += "\n"
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root lines")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise CheckpointError("tree size is not a decimal integer")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("root hash is not base64") from exc
    if len(root) != 32:
        raise CheckpointError("root hash must be 32 bytes")
    if origin != verifier.name:
        raise CheckpointError(f"checkpoint origin {origin!r} is not the key's name {verifier.name!r}")
    for line in sigs.split("\n")[:-1]:
        prefix = f"{EM_DASH} {verifier.name} "
        if not line.startswith(prefix):
            continue
        try:
            blob = base64.b64decode(line[len(prefix):], validate=True)
        except binascii.Error:
            continue
        if len(blob) != 68 or blob[:4] != verifier.key_id:
            continue
        try:
            VerifyKey(verifier.public_key).verify(text.encode(), blob[4:])
        except BadSignatureError as exc:
            raise CheckpointError("checkpoint signature does not verify") from exc
        return Checkpoint(origin, int(size_s), root, note)
    raise CheckpointError("no signature by the given key on this checkpoint")
