from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from atlas.deps import ReadConn
from atlas.points import service
from atlas.points.schemas import Points
from atlas.users.schemas import WalletPath, normalize_wallet

router = APIRouter(prefix="/v1/points", tags=["points"])


@router.get(
    "/{wallet}",
    summary="A wallet's Genesis Points balance and every award behind it. Public.",
    description="Public. Each award carries the ledger seq of its POINTS_AWARDED entry and of the entry "
    "that caused it; the balance is their sum (docs/points.md).",
    response_model=Points,
)
async def get_points(
    wallet: WalletPath,
    conn: ReadConn,
    after: Annotated[int, Query(ge=-1, le=2**53 - 1)] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> Points:
    return Points.model_validate(await service.points_of(conn, normalize_wallet(wallet), after=after, limit=limit))
