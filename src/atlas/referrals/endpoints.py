from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from atlas.deps import ReadConn, SettingsDep
from atlas.referrals import service
from atlas.referrals.codes import referral_link
from atlas.referrals.component import lookup_limiter
from atlas.referrals.errors import ReferralCodeNotFound
from atlas.referrals.ratelimit import LookupLimiter
from atlas.referrals.schemas import ReferralCode

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])


@router.get(
    "/{code}",
    summary="Who owns a referral code (case-insensitive). Public; failed lookups are rate limited per address.",
    response_model=ReferralCode,
    responses={404: {"description": "no such code"}, 429: {"description": "too many failed lookups"}},
)
async def get_referral_code(
    code: Annotated[str, Path(max_length=64)],
    request: Request,
    conn: ReadConn,
    settings: SettingsDep,
    limiter: Annotated[LookupLimiter, Depends(lookup_limiter)],
) -> ReferralCode:
    client = request.client.host if request.client else "unknown"
    await limiter.check(client)
    owner = await service.lookup_code(conn, code)
    if owner is None:
        await limiter.miss(client)
        raise ReferralCodeNotFound("No account has this referral code.")
    return ReferralCode(
        code=owner["referral_code"],
        wallet=owner["wallet"],
        display_name=owner["display_name"],
        link=referral_link(settings.public_url, owner["referral_code"]),
    )
