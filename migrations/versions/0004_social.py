"""social: avatars, referral graph and progress, points and coherence projections.

Revision ID: 0004_social
Revises: 0003_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_social"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avatar_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_avatar_blobs"),
    )
    op.create_table(
        "referral_edges",
        sa.Column("invitee", sa.String(64), nullable=False),
        sa.Column("referrer", sa.String(64), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("accepted_seq", sa.BigInteger(), nullable=False),
        sa.Column("accepted_at", sa.String(32), nullable=False),
        sa.Column("activated_seq", sa.BigInteger(), nullable=True),
        sa.Column("activated_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("invitee", name="pk_referral_edges"),
    )
    op.create_index("ix_referral_edges_referrer_invitee", "referral_edges", ["referrer", "invitee"])
    op.create_table(
        "referral_progress",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("wallet", name="pk_referral_progress"),
    )
    op.create_table(
        "points_awards",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("source_event_id", sa.String(64), nullable=False),
        sa.Column("source_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_points_awards"),
    )
    op.create_index("ix_points_awards_wallet_seq", "points_awards", ["wallet", "seq"])
    op.create_table(
        "points_balances",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("award_count", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("wallet", name="pk_points_balances"),
    )
    op.create_table(
        "coherence_scores",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("registered_seq", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", sa.String(32), nullable=False),
        sa.Column("as_of_seq", sa.BigInteger(), nullable=False),
        sa.Column("as_of_at", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("trust_level", sa.String(16), nullable=False),
        sa.Column("formula_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("wallet", name="pk_coherence_scores"),
    )
    op.create_table(
        "coherence_links",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("sent_seq", sa.BigInteger(), nullable=True),
        sa.Column("accepted_seq", sa.BigInteger(), nullable=True),
        sa.Column("blocked_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("wallet", "peer", name="pk_coherence_links"),
    )
    op.create_index("ix_coherence_links_peer", "coherence_links", ["peer"])
    op.create_table(
        "coherence_devices",
        sa.Column("wallet", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("registered_seq", sa.BigInteger(), nullable=False),
        sa.Column("revoked_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("wallet", "device_id", name="pk_coherence_devices"),
    )


def downgrade() -> None:
    op.drop_table("coherence_devices")
    op.drop_index("ix_coherence_links_peer", table_name="coherence_links")
    op.drop_table("coherence_links")
    op.drop_table("coherence_scores")
    op.drop_table("points_balances")
    op.drop_index("ix_points_awards_wallet_seq", table_name="points_awards")
    op.drop_table("points_awards")
    op.drop_table("referral_progress")
    op.drop_index("ix_referral_edges_referrer_invitee", table_name="referral_edges")
    op.drop_table("referral_edges")
    op.drop_table("avatar_blobs")
