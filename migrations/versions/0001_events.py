"""events schema (filled in by the events domain).

Revision ID: 0001_events
Revises: None
"""

from __future__ import annotations

revision = "0001_events"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
