"""The client-side device: its keys, its sessions with peer devices, and encrypt/decrypt of
CONTRACT §4 payloads. Network-free; ``atlas.client.e2e.api`` adds the HTTP calls.

State (private keys, sessions) lives in memory and round-trips through ``to_dict``/``from_dict``;
an application must store that blob as securely as it stores any private key.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from atlas.client.e2e import wire
from atlas.client.e2e.backup import BackupKeys, decrypt_backup, derive_backup_key, encrypt_backup
from atlas.client.e2e.binding import account_wallet, binding_statement, sign_statement
from atlas.client.e2e.bundles import DeviceRecord, PrekeyBundle
from atlas.client.e2e.errors import DecryptError, MalformedMessage, NoSession, UnknownDevice
from atlas.client.e2e.primitives import ed25519_public, ed25519_sign, x25519_public
from atlas.client.e2e.ratchet import random_private
from atlas.client.e2e.safety import safety_number
from atlas.client.e2e.session import Session

MAX_ARCHIVED = 5
OPK_BATCH = 100
OPK_LOW_WATER = 20
SPK_ROTATE_AFTER = timedelta(days=7)
SPK_KEEP_PREVIOUS = timedelta(days=14)
MAX_SEEN_EPHEMERALS = 100_000

PeerKey = tuple[str, str]  # (wallet lowercase, device id lowercase)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@lru_cache(maxsize=4096)
def _norm_wallet(wallet: str) -> str:
    return wallet.lower() if wallet.startswith("0x") else wallet


@lru_cache(maxsize=4096)
def _norm_device(device_id: str) -> str:
    return str(uuid.UUID(device_id))


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Decrypted:
    message: dict[str, Any]
    plaintext: bytes
    sender_wallet: str
    sender_device: str
    kind: str
    new_session: bool
    identity_changed: bool  # the sender device's identity key changed and the user has not acknowledged it


@dataclass(frozen=True, slots=True)
class IdentityWarning:
    wallet: str
    device_id: str
    old_identity_key: bytes
    new_identity_key: bytes


@dataclass(slots=True)
class _SignedPrekey:
    key_id: int
    private: bytes
    created_at: datetime

    @property
    def public(self) -> bytes:
        return x25519_public(self.private)


@dataclass
class Device:
    """One device of ``wallet``. Create with :meth:`generate`; register with :meth:`registration_body`."""

    wallet: str
    device_id: str
    identity_private: bytes
    signing_private: bytes
    spk: _SignedPrekey
    previous_spks: list[_SignedPrekey] = field(default_factory=list)
    opks: dict[int, bytes] = field(default_factory=dict)
    next_key_id: int = 1
    sessions: dict[PeerKey, list[Session]] = field(default_factory=dict)  # [active, archived…]
    known: dict[PeerKey, bytes] = field(default_factory=dict)  # verified identity keys
    identity_warnings: list[IdentityWarning] = field(default_factory=list)
    seen_ephemerals: dict[bytes, None] = field(default_factory=dict)  # insertion-ordered set

    # -- keys --------------------------------------------------------------------------------------
    @classmethod
    def generate(cls, wallet: str, device_id: str | None = None, *, now: datetime | None = None) -> Device:
        signing = Ed25519PrivateKey.generate().private_bytes_raw()
        spk = _SignedPrekey(1, random_private(), now or _now())
        return cls(
            wallet=_norm_wallet(wallet),
            device_id=_norm_device(device_id or str(uuid.uuid4())),
            identity_private=random_private(),
            signing_private=signing,
            spk=spk,
            next_key_id=2,
        )

    @property
    def identity_public(self) -> bytes:
        return x25519_public(self.identity_private)

    @property
    def signing_public(self) -> bytes:
        return ed25519_public(self.signing_private)

    def _spk_json(self) -> dict[str, Any]:
        pub = self.spk.public
        return {
            "key_id": self.spk.key_id,
            "public_key": _b64(pub),
            "signature": _b64(ed25519_sign(self.signing_private, pub)),
        }

    def generate_one_time_prekeys(self, count: int = OPK_BATCH) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            key_id, private = self.next_key_id, random_private()
            self.next_key_id += 1
            self.opks[key_id] = private
            out.append({"key_id": key_id, "public_key": _b64(x25519_public(private))})
        return out

    def binding_statement(self, issued_at: str) -> str:
        return binding_statement(
            self.wallet, self.device_id, _b64(self.identity_public), _b64(self.signing_public), issued_at
        )

    def registration_body(
        self, account: Any, *, issued_at: str | None = None, one_time_prekeys: int = OPK_BATCH
    ) -> dict[str, Any]:
        """The ``PUT /v1/devices/{device_id}`` body, signed by ``account`` (an eth-account LocalAccount,
        or a PyNaCl SigningKey for a Solana account)."""
        if account_wallet(account) != self.wallet:
            raise ValueError("the account is not this device's wallet")
        issued = issued_at or _rfc3339(_now())
        return {
            "identity_key": _b64(self.identity_public),
            "signing_key": _b64(self.signing_public),
            "binding_signature": sign_statement(account, self.binding_statement(issued)),
            "issued_at": issued,
            "signed_prekey": self._spk_json(),
            "one_time_prekeys": self.generate_one_time_prekeys(one_time_prekeys),
        }

    def rotate_signed_prekey(self, *, now: datetime | None = None) -> dict[str, Any]:
        """A new signed prekey; the previous one is kept for SPK_KEEP_PREVIOUS for in-flight messages."""
        t = now or _now()
        self.previous_spks = [
            s for s in self.previous_spks if t - s.created_at < SPK_KEEP_PREVIOUS + SPK_ROTATE_AFTER
        ]
        self.previous_spks.insert(0, self.spk)
        self.spk = _SignedPrekey(self.next_key_id, random_private(), t)
        self.next_key_id += 1
        return self._spk_json()

    def spk_due(self, *, now: datetime | None = None) -> bool:
        return (now or _now()) - self.spk.created_at >= SPK_ROTATE_AFTER

    def prekeys_body(
        self, *, one_time_prekeys: int = 0, rotate_signed_prekey: bool = False, now: datetime | None = None
    ) -> dict[str, Any]:
        """The ``POST /v1/devices/{device_id}/prekeys`` body."""
        body: dict[str, Any] = {"one_time_prekeys": self.generate_one_time_prekeys(one_time_prekeys)}
        if rotate_signed_prekey:
            body["signed_prekey"] = self.rotate_signed_prekey(now=now)
        return body

    # -- peers ------------------------------------------------------------------------------------
    def trust(self, record: DeviceRecord) -> bool:
        """Record a *verified* device's identity key. Returns True when it changed (sessions with that
        device are dropped and a warning is recorded for the app to surface)."""
        key = (record.wallet, record.device_id)
        old = self.known.get(key)
        self.known[key] = record.identity_key
        if old is None or old == record.identity_key:
            return False
        self.sessions.pop(key, None)
        self.identity_warnings.append(
            IdentityWarning(record.wallet, record.device_id, old, record.identity_key)
        )
        return True

    def identity_changed(self, wallet: str, device_id: str) -> bool:
        key = (_norm_wallet(wallet), _norm_device(device_id))
        return any((w.wallet, w.device_id) == key for w in self.identity_warnings)

    def acknowledge_identity(self, wallet: str, device_id: str) -> None:
        key = (_norm_wallet(wallet), _norm_device(device_id))
        self.identity_warnings = [w for w in self.identity_warnings if (w.wallet, w.device_id) != key]

    def forget_device(self, wallet: str, device_id: str) -> None:
        """A peer device was revoked: drop its sessions and its key."""
        key = (_norm_wallet(wallet), _norm_device(device_id))
        self.sessions.pop(key, None)
        self.known.pop(key, None)

    def has_session(self, wallet: str, device_id: str) -> bool:
        return bool(self.sessions.get((_norm_wallet(wallet), _norm_device(device_id))))

    def start_session(self, bundle: PrekeyBundle) -> Session:
        """X3DH as initiator from a verified bundle (see ``atlas.client.e2e.bundles.verify_bundle``)."""
        rec = bundle.device
        self.trust(rec)
        session = Session.initiate(
            self.identity_private,
            rec.identity_key,
            rec.spk_id,
            rec.spk_public,
            bundle.opk_id,
            bundle.opk_public,
        )
        self._activate((rec.wallet, rec.device_id), session)
        return session

    def _activate(self, key: PeerKey, session: Session) -> None:
        stack = self.sessions.setdefault(key, [])
        if session in stack:
            stack.remove(session)
        stack.insert(0, session)
        del stack[1 + MAX_ARCHIVED :]

    def safety_number(self, wallet: str, device_id: str) -> str:
        key = (_norm_wallet(wallet), _norm_device(device_id))
        if key not in self.known:
            raise NoSession(*key)
        return safety_number(self.wallet, self.identity_public, key[0], self.known[key])

    # -- messages ---------------------------------------------------------------------------------
    def encrypt_to(
        self, conversation_id: str, wallet: str, device_id: str, plaintext: bytes
    ) -> dict[str, str]:
        key = (_norm_wallet(wallet), _norm_device(device_id))
        stack = self.sessions.get(key)
        if not stack:
            raise NoSession(*key)
        ctx = wire.context_bytes(conversation_id, self.device_id, key[1])
        kind, body = stack[0].encrypt(plaintext, ctx)
        return {"device_id": key[1], "kind": kind, "body": _b64(body)}

    def encrypt_for(
        self, conversation_id: str, recipients: list[tuple[str, str]], message: dict[str, Any]
    ) -> list[dict[str, str]]:
        """One CONTRACT §4 payload per recipient (wallet, device_id); needs a session with each
        (raises NoSession naming the first one missing, before encrypting anything)."""
        for wallet, device_id in recipients:
            if not self.has_session(wallet, device_id):
                raise NoSession(_norm_wallet(wallet), _norm_device(device_id))
        plaintext = wire.encode_plaintext(message)
        return [self.encrypt_to(conversation_id, w, d, plaintext) for w, d in recipients]

    def decrypt(
        self, conversation_id: str, sender_wallet: str, sender_device: str, payload: dict[str, Any]
    ) -> Decrypted:
        """Decrypt one payload addressed to this device. Never changes state on failure."""
        try:
            key = (_norm_wallet(sender_wallet), _norm_device(sender_device))
            addressed = payload.get("device_id")
            if addressed is not None and _norm_device(str(addressed)) != self.device_id:
                raise DecryptError("payload is addressed to another device")
        except ValueError:
            raise MalformedMessage("device ids are UUIDs") from None
        try:
            body = base64.b64decode(str(payload["body"]), validate=True)
        except (KeyError, ValueError) as exc:
            raise MalformedMessage("body is not base64") from exc
        ctx = wire.context_bytes(conversation_id, key[1], self.device_id)
        kind = payload.get("kind")
        if kind == wire.KIND_PREKEY:
            plain, new = self._decrypt_prekey(key, body, ctx)
        elif kind == wire.KIND_MESSAGE:
            plain, new = self._decrypt_message(key, body, ctx), False
        else:
            raise MalformedMessage("unknown payload kind")
        return Decrypted(
            wire.decode_plaintext(plain), plain, key[0], key[1], kind, new, self.identity_changed(*key)
        )

    def _decrypt_message(self, key: PeerKey, body: bytes, ctx: bytes) -> bytes:
        header, ct = wire.decode_message(body)
        stack = self.sessions.get(key)
        if not stack:
            raise NoSession(*key)
        last: DecryptError | None = None
        for session in list(stack):
            try:
                plain = session.decrypt(header, ct, ctx)
            except DecryptError as exc:
                last = exc
                continue
            self._activate(key, session)
            return plain
        raise last or DecryptError("no session decrypts this message")

    def _decrypt_prekey(self, key: PeerKey, body: bytes, ctx: bytes) -> tuple[bytes, bool]:
        prefix, header, ct = wire.decode_prekey(body)
        known = self.known.get(key)
        if known is None or known != prefix.identity_key:
            raise UnknownDevice(*key)
        for session in self.sessions.get(key, []):
            if session.ephemeral == prefix.ephemeral_key:
                plain = session.decrypt(header, ct, ctx)
                self._activate(key, session)
                return plain, False
        if prefix.ephemeral_key in self.seen_ephemerals:
            raise DecryptError("this X3DH run was already used (replayed prekey message)")
        spk = next((s for s in [self.spk, *self.previous_spks] if s.key_id == prefix.spk_id), None)
        if spk is None:
            raise DecryptError("unknown signed prekey")
        opk: bytes | None = None
        if prefix.opk_id != wire.NO_OPK:
            opk = self.opks.get(prefix.opk_id)
            if opk is None:
                raise DecryptError("unknown or already used one-time prekey")
        session = Session.respond(self.identity_private, spk.private, opk, prefix)
        plain = session.decrypt(header, ct, ctx)
        if opk is not None:
            del self.opks[prefix.opk_id]
        self.seen_ephemerals[prefix.ephemeral_key] = None
        while len(self.seen_ephemerals) > MAX_SEEN_EPHEMERALS:
            del self.seen_ephemerals[next(iter(self.seen_ephemerals))]
        self._activate(key, session)
        return plain, True

    # -- backup and persistence -----------------------------------------------------------------
    def backup(self, account: Any) -> bytes:
        """Encrypted backup of the long-term keys under a key derived from the wallet's signature."""
        keys = BackupKeys(self.identity_private, self.signing_private, self.spk.key_id, self.spk.private)
        return encrypt_backup(derive_backup_key(account), self.wallet, keys)

    @classmethod
    def restore(cls, account: Any, blob: bytes, device_id: str, *, now: datetime | None = None) -> Device:
        """Rebuild a device's long-term keys from a backup (sessions and one-time prekeys are not in
        it: peers' next messages to this device start new sessions from fresh prekeys)."""
        keys = decrypt_backup(derive_backup_key(account), account.address, blob)
        return cls(
            wallet=account.address.lower(),
            device_id=_norm_device(device_id),
            identity_private=keys.identity,
            signing_private=keys.signing,
            spk=_SignedPrekey(keys.spk_id, keys.spk_private, now or _now()),
            next_key_id=keys.spk_id + 1_000_000,  # stay clear of key ids handed out before the backup
        )

    def to_dict(self) -> dict[str, Any]:
        def spk(s: _SignedPrekey) -> dict[str, Any]:
            return {"key_id": s.key_id, "private": _b64(s.private), "created_at": _rfc3339(s.created_at)}

        return {
            "wallet": self.wallet,
            "device_id": self.device_id,
            "identity": _b64(self.identity_private),
            "signing": _b64(self.signing_private),
            "spk": spk(self.spk),
            "previous_spks": [spk(s) for s in self.previous_spks],
            "opks": {str(k): _b64(v) for k, v in self.opks.items()},
            "next_key_id": self.next_key_id,
            "sessions": [
                {"wallet": w, "device_id": d, "sessions": [s.to_dict() for s in stack]}
                for (w, d), stack in self.sessions.items()
            ],
            "known": [
                {"wallet": w, "device_id": d, "identity_key": _b64(k)} for (w, d), k in self.known.items()
            ],
            "seen_ephemerals": [_b64(e) for e in self.seen_ephemerals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        d = base64.b64decode

        def spk(s: dict[str, Any]) -> _SignedPrekey:
            return _SignedPrekey(int(s["key_id"]), d(s["private"]), datetime.fromisoformat(s["created_at"]))

        return cls(
            wallet=data["wallet"],
            device_id=data["device_id"],
            identity_private=d(data["identity"]),
            signing_private=d(data["signing"]),
            spk=spk(data["spk"]),
            previous_spks=[spk(s) for s in data["previous_spks"]],
            opks={int(k): d(v) for k, v in data["opks"].items()},
            next_key_id=int(data["next_key_id"]),
            sessions={
                (e["wallet"], e["device_id"]): [Session.from_dict(s) for s in e["sessions"]]
                for e in data["sessions"]
            },
            known={(e["wallet"], e["device_id"]): d(e["identity_key"]) for e in data["known"]},
            seen_ephemerals={d(e): None for e in data["seen_ephemerals"]},
        )
