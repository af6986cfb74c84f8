"""devices: E2E device registry and one-time prekeys.

Revision ID: 0005_devices
Revises: 0004_social
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_devices"
down_revision = "0004_social"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("identity_key", sa.LargeBinary(), nullable=False),
        sa.Column("signing_key", sa.LargeBinary(), nullable=False),
        sa.Column("binding_signature", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.String(64), nullable=False),
        sa.Column("spk_id", sa.BigInteger(), nullable=False),
        sa.Column("spk_public", sa.LargeBinary(), nullable=False),
        sa.Column("spk_signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name="pk_devices"),
    )
    op.create_index("ix_devices_wallet", "devices", ["wallet"])
    op.create_table(
        "device_prekeys",
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "key_id", name="pk_device_prekeys"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.device_id"],
            name="fk_device_prekeys_device_id_devices",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_device_prekeys_device_id_used_at", "device_prekeys", ["device_id", "used_at"])


def downgrade() -> None:
    op.drop_index("ix_device_prekeys_device_id_used_at", table_name="device_prekeys")
    op.drop_table("device_prekeys")
    op.drop_index("ix_devices_wallet", table_name="devices")
    op.drop_table("devices")
