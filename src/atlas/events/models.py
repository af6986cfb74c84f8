"""The catalogue of typed events. Each is built where it is emitted and written to the outbox in the
same transaction as the change that caused it; the ledger subscriber turns it into a ledger entry.

``payload()`` is exactly what the ledger entry's ``payload`` will hold: integers and strings only
(no floats, CONTRACT §3), never secrets or message content.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SYSTEM_ACTOR = "system"


class Event(BaseModel):
    """Base of every event. ``event_id`` is the idempotency key all the way into the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    #: Server-only events can never be logged by clients through ``POST /v1/genesis/log``.
    client_loggable: ClassVar[bool] = False

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    actor: str

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"event_id", "actor", "type"})


class UserRegistered(Event):
    event_type: ClassVar[str] = "USER_REGISTERED"
    type: Literal["USER_REGISTERED"] = "USER_REGISTERED"
    chain: str  # "eip155:<id>" or "solana:<ref>" (CAIP-2)
    referral_code: str


class Login(Event):
    event_type: ClassVar[str] = "LOGIN"
    type: Literal["LOGIN"] = "LOGIN"
    chain: str
    session_hash: str  # SHA-256 of the session id; links logins to revocations without revealing it


class ProfileUpdated(Event):
    event_type: ClassVar[str] = "PROFILE_UPDATED"
    type: Literal["PROFILE_UPDATED"] = "PROFILE_UPDATED"
    fields: list[str]
    display_name_set: bool


class ReferralAccepted(Event):
    event_type: ClassVar[str] = "REFERRAL_ACCEPTED"
    type: Literal["REFERRAL_ACCEPTED"] = "REFERRAL_ACCEPTED"
    referrer: str
    invitee: str
    code: str


class ReferralActivated(Event):
    event_type: ClassVar[str] = "REFERRAL_ACTIVATED"
    type: Literal["REFERRAL_ACTIVATED"] = "REFERRAL_ACTIVATED"
    referrer: str
    invitee: str


class PointsAwarded(Event):
    event_type: ClassVar[str] = "POINTS_AWARDED"
    type: Literal["POINTS_AWARDED"] = "POINTS_AWARDED"
    wallet: str
    points: int
    reason: str
    rule_version: int
    source_event_id: str  # the event whose ledger entry caused this award


class DeviceRegistered(Event):
    event_type: ClassVar[str] = "DEVICE_REGISTERED"
    type: Literal["DEVICE_REGISTERED"] = "DEVICE_REGISTERED"
    device_id: str
    identity_key_hash: str


class DeviceRevoked(Event):
    event_type: ClassVar[str] = "DEVICE_REVOKED"
    type: Literal["DEVICE_REVOKED"] = "DEVICE_REVOKED"
    device_id: str


class ConversationStarted(Event):
    event_type: ClassVar[str] = "CONVERSATION_STARTED"
    type: Literal["CONVERSATION_STARTED"] = "CONVERSATION_STARTED"
    conversation_hash: str
    peer: str


class ConversationStateChanged(Event):
    event_type: ClassVar[str] = "CONVERSATION_STATE_CHANGED"
    type: Literal["CONVERSATION_STATE_CHANGED"] = "CONVERSATION_STATE_CHANGED"
    conversation_hash: str
    peer: str
    state: Literal["accepted", "blocked"]


class MessageSent(Event):
    """Metadata only: never ciphertext, never content."""

    event_type: ClassVar[str] = "MESSAGE_SENT"
    type: Literal["MESSAGE_SENT"] = "MESSAGE_SENT"
    conversation_hash: str
    peer: str
    seq: int
    size_bucket: int
    envelope_hash: str


class ContentAction(Event):
    """The one kind of entry a client may log about itself (``POST /v1/genesis/log``)."""

    event_type: ClassVar[str] = "CONTENT_ACTION"
    client_loggable: ClassVar[bool] = True
    type: Literal["CONTENT_ACTION"] = "CONTENT_ACTION"
    data: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return dict(self.data)


CATALOGUE: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        UserRegistered,
        Login,
        ProfileUpdated,
        ReferralAccepted,
        ReferralActivated,
        PointsAwarded,
        DeviceRegistered,
        DeviceRevoked,
        ConversationStarted,
        ConversationStateChanged,
        MessageSent,
        ContentAction,
    )
}
