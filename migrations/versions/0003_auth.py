"""auth schema (filled in by the auth domain).

Revision ID: 0003_auth
Revises: 0002_ledger
"""

from __future__ import annotations

revision = "0003_auth"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
