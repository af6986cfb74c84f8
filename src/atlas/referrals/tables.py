"""Referral tables.

``referral_edges`` is the referral graph *projection* (rebuilt by ``atlas replay`` from the ledger).
``referral_progress`` is write-side bookkeeping: an invitee who wrote in an accepted conversation
before choosing a display name, so that setting the name later activates the referral.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table

from atlas.db import metadata

referral_edges = Table(
    "referral_edges",
    metadata,
    Column("invitee", String(64), primary_key=True),
    Column("referrer", String(64), nullable=False),
    Column("code", String(16), nullable=False),
    Column("accepted_seq", BigInteger, nullable=False),
    Column("accepted_at", String(32), nullable=False),  # ledger timestamps, verbatim
    Column("activated_seq", BigInteger, nullable=True),
    Column("activated_at", String(32), nullable=True),
    Index("ix_referral_edges_referrer_invitee", "referrer", "invitee"),
)

referral_progress = Table(
    "referral_progress",
    metadata,
    Column("wallet", String(64), primary_key=True),
    Column("first_message_at", DateTime(timezone=True), nullable=False),
)
