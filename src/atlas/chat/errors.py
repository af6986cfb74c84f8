"""Chat errors, each with a stable ``code`` that both REST problems and socket ``error`` frames carry."""

from __future__ import annotations

from atlas.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unprocessable,
)


class ConversationNotFound(NotFound):
    """Also what a non-member sees: membership is not revealed to strangers."""

    code = "conversation_not_found"


class CannotMessageSelf(BadRequest):
    code = "cannot_message_self"


class InvalidWallet(Unprocessable):
    code = "invalid_wallet"


class PeerNotFound(NotFound):
    code = "peer_not_found"


class ConversationBlocked(Forbidden):
    code = "conversation_blocked"


class RequestNotAccepted(Forbidden):
    """The recipient of a request must accept it before replying."""

    code = "request_not_accepted"


class NotAllowed(Forbidden):
    code = "not_allowed"


class TooManyRequests(RateLimited):
    code = "request_rate_limited"


class EnvelopeTooLarge(PayloadTooLarge):
    code = "envelope_too_large"


class InvalidEnvelope(Unprocessable):
    code = "invalid_envelope"


class UnknownSenderDevice(Forbidden):
    code = "unknown_sender_device"


class UnknownDevice(Conflict):
    """A payload addresses a device that is neither the peer's nor the sender's other active device."""

    code = "unknown_device"


class MissingDevice(Conflict):
    """An active recipient device has no payload: refetch the device lists and encrypt for it too."""

    code = "missing_device"


class InvalidFrame(BadRequest):
    code = "invalid_frame"


class SeqOutOfRange(Unprocessable):
    code = "seq_out_of_range"
