"""Avatar images, content-addressed.

The bytes live in the database so that every server process of a deployment can serve them (each may
have its own ATLAS_DATA_DIR, CONTRACT §1); ``ATLAS_DATA_DIR/avatars`` holds a local copy that is read
first. Re-encoded 256×256 WebP images are a few kilobytes.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, LargeBinary, String, Table

from atlas.db import metadata

avatar_blobs = Table(
    "avatar_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
