"""chat: conversations, members, messages, per-device ciphertext payloads, delivery cursors.

Revision ID: 0006_chat
Revises: 0005_devices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_chat"
down_revision = "0005_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("wallet_a", sa.String(64), nullable=False),
        sa.Column("wallet_b", sa.String(64), nullable=False),
        sa.Column("initiator", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("blocked_by", sa.String(64), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_conversations"),
        sa.UniqueConstraint("wallet_a", "wallet_b", name="uq_chat_conversations_pair"),
    )
    op.create_index(
        "ix_chat_conversations_initiator_created", "chat_conversations", ["initiator", "created_ms"]
    )
    op.create_table(
        "chat_members",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("read_up_to", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name="fk_chat_members_conversation_id_chat_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wallet", "conversation_id", name="pk_chat_members"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("client_msg_id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("sender_device", sa.String(36), nullable=False),
        sa.Column("server_ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name="pk_chat_messages"),
        sa.UniqueConstraint("conversation_id", "client_msg_id", name="uq_chat_messages_client_msg_id"),
    )
    op.create_table(
        "chat_payloads",
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "conversation_id", "seq", name="pk_chat_payloads"),
    )
    op.create_index("ix_chat_payloads_conversation_seq", "chat_payloads", ["conversation_id", "seq"])
    op.create_table(
        "chat_device_cursors",
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("delivered_up_to", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "conversation_id", name="pk_chat_device_cursors"),
    )


def downgrade() -> None:
    op.drop_table("chat_device_cursors")
    op.drop_index("ix_chat_payloads_conversation_seq", table_name="chat_payloads")
    op.drop_table("chat_payloads")
    op.drop_table("chat_messages")
    op.drop_table("chat_members")
    op.drop_index("ix_chat_conversations_initiator_created", table_name="chat_conversations")
    op.drop_table("chat_conversations")
