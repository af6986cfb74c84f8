"""devices schema (filled in by the devices domain).

Revision ID: 0005_devices
Revises: 0004_social
"""

from __future__ import annotations

revision = "0005_devices"
down_revision = "0004_social"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
