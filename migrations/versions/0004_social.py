"""social schema (filled in by the social domain).

Revision ID: 0004_social
Revises: 0003_auth
"""

from __future__ import annotations

revision = "0004_social"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
