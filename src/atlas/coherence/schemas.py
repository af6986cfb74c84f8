from __future__ import annotations

from pydantic import BaseModel, Field


class CoherenceScore(BaseModel):
    wallet: str
    score: int = Field(ge=0, le=10_000)
    trust_level: str = Field(description="UNKNOWN, VERIFIED, TRUSTED or AUTHORITY (docs/coherence.md).")
    formula_version: int
    as_of_seq: int | None = Field(description="The ledger entry the score reflects; null before the first.")


class ExplainTerm(BaseModel):
    name: str
    value: int = Field(description="Signed contribution to the score.")
    count: int = Field(description="How many facts the term counted, before its cap.")
    cap: int
    seqs: list[int] = Field(description="The ledger entries behind the term.")


class CoherenceExplanation(CoherenceScore):
    as_of_timestamp: str | None
    registered_seq: int | None
    terms: list[ExplainTerm]
