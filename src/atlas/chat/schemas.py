"""The chat wire formats (CONTRACT §4): the envelope, REST bodies and answers, socket frames.

The same :class:`Envelope` is accepted by ``POST …/messages`` and inside a ``send`` frame. Ids
chosen by clients are UUIDs; they are stored and returned in lowercase canonical form.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN, to_lower=True)]
Wallet = Annotated[str, StringConstraints(min_length=32, max_length=64)]
State = Literal["request", "accepted", "blocked"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: Uuid
    kind: Literal["prekey", "message"]
    body: str = Field(description="Ciphertext for this one device, standard base64 with padding.")


class Envelope(BaseModel):
    """What a client sends; the server never looks inside ``body``."""

    model_config = ConfigDict(extra="forbid")

    client_msg_id: Uuid = Field(description="Idempotency key: a repeat returns the original seq.")
    sender_device: Uuid
    payloads: list[Payload] = Field(
        min_length=1,
        description="One payload per recipient device: each device of the peer and each other device "
        "of the sender.",
    )


class StartConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    peer: Wallet


class ReadMarker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: int = Field(ge=0, description="Every message up to this seq has been seen.")


class MessageOut(BaseModel):
    conversation_id: str
    seq: int
    server_ts: str
    sender: str
    envelope: Envelope


class ConversationOut(BaseModel):
    id: str
    peer: str
    peer_display_name: str | None = None
    state: State
    initiator: str
    blocked_by_me: bool
    created_at: str
    last_activity_at: str
    last_seq: int
    read_up_to: int
    unread_count: int
    last_message: MessageOut | None = None


class Inbox(BaseModel):
    conversations: list[ConversationOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page; null at the end.")


class MessagesPage(BaseModel):
    messages: list[MessageOut] = Field(description="Ascending seq order.")
    next_before: int | None = Field(description="Pass as ?before= for the older page; null at the start.")


class SendAck(BaseModel):
    client_msg_id: str
    conversation_id: str
    seq: int
    server_ts: str
    duplicate: bool = Field(description="True when this client_msg_id was already stored (original seq).")


class ReadOut(BaseModel):
    conversation_id: str
    read_up_to: int
    unread_count: int


# --- socket frames, client → server (parsed by hand on the hot path, modelled here for the docs) ---


class AuthFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")  # lenient: clients may add hints (e.g. a client name)

    type: Literal["auth"]
    token: str = Field(max_length=4096)
    device_id: Uuid
    resume: dict[str, Annotated[int, Field(ge=0)]] | None = None


class SendFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["send"]
    conversation_id: Uuid
    envelope: Envelope


class ReceiptFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["receipt"]
    conversation_id: Uuid
    kind: Literal["delivered", "read"]
    up_to: int = Field(ge=0)


class TypingFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["typing"]
    conversation_id: Uuid
    state: Literal["start", "stop"]


class PingFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["ping"]
