"""Devices and their one-time prekeys. Public keys and signatures only."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, LargeBinary, String, Table

from atlas.db import metadata

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(36), primary_key=True),  # lowercase UUID text
    Column("wallet", String(64), nullable=False),  # lowercase 0x-address or base58 key
    Column("identity_key", LargeBinary, nullable=False),  # X25519 public, 32 bytes
    Column("signing_key", LargeBinary, nullable=False),  # Ed25519 public, 32 bytes
    Column("binding_signature", String(200), nullable=False),  # as sent (0x-hex EIP-191)
    Column("issued_at", String(64), nullable=False),  # as sent: part of the signed statement
    Column("spk_id", BigInteger, nullable=False),
    Column("spk_public", LargeBinary, nullable=False),
    Column("spk_signature", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_devices_wallet", "wallet"),
)

device_prekeys = Table(
    "device_prekeys",
    metadata,
    Column("device_id", String(36), ForeignKey("devices.device_id", ondelete="CASCADE"), primary_key=True),
    Column("key_id", BigInteger, primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),  # handed out: never again
    Index("ix_device_prekeys_device_id_used_at", "device_id", "used_at"),
)
