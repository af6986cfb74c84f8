"""Puts the referral-lookup limiter in ``runtime.services``."""

from __future__ import annotations

from fastapi import Request

from atlas.referrals.ratelimit import LookupLimiter
from atlas.runtime import Runtime

SERVICE = "referral_lookup_limiter"


def install(runtime: Runtime) -> None:
    s = runtime.settings
    runtime.services[SERVICE] = LookupLimiter(s.rate_referral_lookup, redis_url=s.redis_url, namespace=s.redis_namespace)


def lookup_limiter(request: Request) -> LookupLimiter:
    limiter: LookupLimiter = request.app.state.runtime.services[SERVICE]
    return limiter
