from __future__ import annotations

from pydantic import BaseModel, Field


class Award(BaseModel):
    seq: int = Field(description="Ledger seq of the POINTS_AWARDED entry.")
    points: int
    reason: str
    rule_version: int
    source_seq: int | None = Field(description="Ledger seq of the entry that caused the award.")


class Points(BaseModel):
    wallet: str
    balance: int
    awards: list[Award]
    next_after: int | None = Field(description="Pass as ?after= for the next page; null on the last one.")
