"""Sign-in nonces, sessions and refresh tokens.

Refresh tokens are stored only as SHA-256 hashes: a database leak does not hand out sessions.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table

from atlas.db import metadata

# Spent challenge nonces in the embedded mode (Redis holds them when configured; challenges
# themselves are signed, not stored: atlas.auth.nonces). A nonce is spent atomically by inserting
# its row (``ON CONFLICT DO NOTHING``); rows are swept once expired. ``issued_at`` and ``spent_at``
# both hold the time the spend was recorded.
auth_nonces = Table(
    "auth_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("address", String(64), nullable=False),  # the account it was issued for, normalised
    Column("chain", String(64), nullable=False),  # CAIP-2
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("spent_at", DateTime(timezone=True), nullable=True),
    Index("ix_auth_nonces_expires_at", "expires_at"),
)

# One row per sign-in: the refresh-token family. Revoking it ends every token it issued.
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("wallet", String(64), ForeignKey("users.wallet"), nullable=False),
    Column("chain", String(64), nullable=False),  # CAIP-2 the wallet signed in on
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(32), nullable=True),
    Column("user_agent", String(200), nullable=True),
    Index("ix_auth_sessions_wallet", "wallet"),
)

auth_refresh_tokens = Table(
    "auth_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # hex SHA-256 of the opaque token
    Column("session_id", String(36), ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("spent_at", DateTime(timezone=True), nullable=True),
    Index("ix_auth_refresh_tokens_session_id", "session_id"),
)
