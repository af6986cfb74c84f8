"""chat schema (filled in by the chat domain).

Revision ID: 0006_chat
Revises: 0005_devices
"""

from __future__ import annotations

revision = "0006_chat"
down_revision = "0005_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
