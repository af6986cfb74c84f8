"""Errors raised by the E2E layer. Every failure to decrypt is a :class:`DecryptError`; none of them
ever changes session state (decryption works on a copy and commits only on success)."""

from __future__ import annotations


class E2EError(Exception):
    """Base of every ATLAS E2E v1 error."""


class InvalidKey(E2EError):
    """A key is malformed, or an X25519 exchange produced the all-zero output (a low-order point)."""


class UntrustedBundle(E2EError):
    """A prekey bundle or device record fails verification: wrong wallet binding, bad signed-prekey
    signature, or malformed keys. A client never starts a session from such a bundle."""


class DecryptError(E2EError):
    """A message cannot be decrypted: tampered, truncated, for another session or context."""


class MalformedMessage(DecryptError):
    """The wire body cannot be parsed (wrong version byte, too short, bad padding)."""


class ReplayError(DecryptError):
    """The message key for this header was already used (or never existed): a replay or duplicate."""


class TooManySkipped(DecryptError):
    """Accepting the message would store more than MAX_SKIP skipped message keys."""


class NoSession(E2EError):
    """There is no session with this peer device yet: fetch its prekey bundle and start one."""

    def __init__(self, wallet: str, device_id: str) -> None:
        super().__init__(f"no session with {wallet}/{device_id}")
        self.wallet = wallet
        self.device_id = device_id


class UnknownDevice(E2EError):
    """A prekey message names an identity key that is not (yet) known to be bound to the sender's
    wallet: fetch the sender's device list, verify it, call ``Device.trust`` and retry."""

    def __init__(self, wallet: str, device_id: str) -> None:
        super().__init__(f"identity of {wallet}/{device_id} is not verified")
        self.wallet = wallet
        self.device_id = device_id


class PeerHasNoDevices(E2EError):
    """The peer has no active device with a valid wallet binding: nothing can be encrypted to it."""

    def __init__(self, wallet: str) -> None:
        super().__init__(f"{wallet} has no verified active device")
        self.wallet = wallet
