"""The ``users`` table: one row per account, created at its first sign-in.

The auth domain creates rows (registration); the social domain fills in profiles, referrals and
activation on the same row.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, String, Table

from atlas.db import metadata

users = Table(
    "users",
    metadata,
    # Lowercase 0x-address, or a base58 Solana public key (case-sensitive, stored as given).
    Column("wallet", String(64), primary_key=True),
    Column("chain", String(64), nullable=False),  # CAIP-2 of the first sign-in
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("display_name", String(64), nullable=True),
    Column("bio", String(400), nullable=True),
    Column("avatar_sha256", String(64), nullable=True),
    Column("referral_code", String(16), nullable=False, unique=True),
    Column("referred_by", String(64), ForeignKey("users.wallet"), nullable=True),
    Column("referral_accepted_at", DateTime(timezone=True), nullable=True),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The social domain declares its avatar table beside the users table so the schema is complete.
from atlas.users.profile_tables import avatar_blobs  # noqa: E402, F401 - re-exported for metadata
