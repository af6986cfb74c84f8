from __future__ import annotations

from fastapi import APIRouter

from atlas.coherence import service
from atlas.coherence.schemas import CoherenceExplanation, CoherenceScore
from atlas.deps import ReadConn
from atlas.users.schemas import WalletPath, normalize_wallet

router = APIRouter(tags=["coherence"])


@router.get(
    "/v1/coherence/{wallet}",
    summary="A wallet's coherence score (0–10000) and trust level. Public.",
    description="Public. Computed only from ledger entries by a versioned formula (docs/coherence.md); "
    "`as_of_seq` is the ledger entry it reflects.",
    response_model=CoherenceScore,
)
async def get_coherence(wallet: WalletPath, conn: ReadConn) -> CoherenceScore:
    return CoherenceScore.model_validate(await service.score_of(conn, normalize_wallet(wallet)))


@router.get(
    "/v1/explain/coherence/{wallet}",
    summary="Each term of a wallet's coherence score and the ledger entries behind it. Public.",
    response_model=CoherenceExplanation,
)
async def explain_coherence(wallet: WalletPath, conn: ReadConn) -> CoherenceExplanation:
    return CoherenceExplanation.model_validate(await service.explain(conn, normalize_wallet(wallet)))
