from __future__ import annotations

from pydantic import BaseModel


class ReferralCode(BaseModel):
    code: str
    wallet: str
    display_name: str | None
    link: str
