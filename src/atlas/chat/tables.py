"""Chat storage: conversations, their two members, messages and the per-device ciphertext payloads.

Times are integer milliseconds since the epoch (``*_ms``): they compare and index the same way on
SQLite and PostgreSQL and cost nothing to convert on the hot path. No column ever holds plaintext:
``chat_payloads.body`` is the client's ciphertext, exactly as sent.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from atlas.db import metadata

conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    # The pair, ordered (wallet_a < wallet_b), so that one pair has exactly one conversation.
    Column("wallet_a", String(64), nullable=False),
    Column("wallet_b", String(64), nullable=False),
    Column("initiator", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # request | accepted | blocked
    Column("blocked_by", String(64), nullable=True),
    Column("last_seq", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_activity_ms", BigInteger, nullable=False),
    UniqueConstraint("wallet_a", "wallet_b", name="uq_chat_conversations_pair"),
    Index("ix_chat_conversations_initiator_created", "initiator", "created_ms"),
)

members = Table(
    "chat_members",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column(
        "conversation_id",
        String(36),
        ForeignKey("chat_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("peer", String(64), nullable=False),
    # The private read marker: every message up to this seq has been seen on one of the wallet's devices.
    Column("read_up_to", Integer, nullable=False),
)

messages = Table(
    "chat_messages",
    metadata,
    Column("conversation_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("client_msg_id", String(36), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("sender_device", String(36), nullable=False),
    Column("server_ts_ms", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),  # total ciphertext bytes, for limits and metrics
    UniqueConstraint("conversation_id", "client_msg_id", name="uq_chat_messages_client_msg_id"),
)

payloads = Table(
    "chat_payloads",
    metadata,
    # Keyed by device first: "everything after seq N for this device" is one index range per conversation.
    Column("device_id", String(36), primary_key=True),
    Column("conversation_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),  # prekey | message
    Column("body", LargeBinary, nullable=False),  # ciphertext, never decrypted here
    Index("ix_chat_payloads_conversation_seq", "conversation_id", "seq"),
)

device_cursors = Table(
    "chat_device_cursors",
    metadata,
    Column("device_id", String(36), primary_key=True),
    Column("conversation_id", String(36), primary_key=True),
    # Highest seq this device confirmed it stored (its ``delivered`` receipts, or a resume point).
    Column("delivered_up_to", Integer, nullable=False),
)
