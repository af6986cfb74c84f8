"""Request and response bodies of the Genesis Ledger API (CONTRACT §2)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from atlas.ledger.entries import LedgerEntry


class EntryOut(BaseModel):
    seq: int
    event_id: str
    event_type: str
    actor: str
    payload: dict[str, Any]
    timestamp: str = Field(description="RFC 3339 UTC with Z")
    prev_hash: str = Field(description="hex SHA-256 of the previous entry's canonical body; 64 zeros for seq 0")
    hash: str = Field(description="hex SHA-256 of this entry's canonical body (RFC 8785)")

    @classmethod
    def of(cls, e: LedgerEntry) -> EntryOut:
        return cls(**e.as_json())


class EntriesPage(BaseModel):
    entries: list[EntryOut]
    next_after: int | None = Field(
        description="Pass as `after` to continue: the last seq returned (or the `after` given when none)."
    )


class PendingOut(BaseModel):
    event_id: str
    status: Literal["pending"] = "pending"


class InclusionProofOut(BaseModel):
    seq: int
    tree_size: int
    leaf_hash: str
    path: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    path: list[str]


class PublicKeyOut(BaseModel):
    origin: str
    key_name: str
    public_key: str = Field(description="base64 of the 32-byte Ed25519 public key")
    verifier_key: str = Field(description="C2SP signed-note verifier key: <name>+<hex key id>+<base64(0x01‖key)>")


class LogRequest(BaseModel):
    event_type: str = Field(max_length=64)
    payload: dict[str, Any]


class LogAccepted(BaseModel):
    seq: int
    hash: str
    event_id: str
