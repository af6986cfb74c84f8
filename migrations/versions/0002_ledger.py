"""ledger schema (filled in by the ledger domain).

Revision ID: 0002_ledger
Revises: 0001_events
"""

from __future__ import annotations

revision = "0002_ledger"
down_revision = "0001_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
