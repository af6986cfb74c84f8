"""Wires the auth domain into the runtime: the nonce store, the rate limiter and the EVM RPC client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlas.auth.nonces import DatabaseNonceStore, NonceCodec, NonceStore, RedisNonceStore
from atlas.auth.ratelimit import AuthRateLimiter
from atlas.auth.signatures import EvmRpc
from atlas.auth.signin import AuthWriter
from atlas.runtime import Runtime


@dataclass
class AuthState:
    nonces: NonceStore
    codec: NonceCodec
    limiter: AuthRateLimiter
    rpc: EvmRpc | None
    writer: AuthWriter
    redis: Any = None


class AuthComponent:
    name = "auth"

    def __init__(self, state: AuthState) -> None:
        self.state = state

    async def start(self, runtime: Runtime) -> None:
        return None

    async def stop(self) -> None:
        await self.state.writer.stop()
        if self.state.rpc is not None:
            await self.state.rpc.close()
        if self.state.redis is not None:
            await self.state.redis.aclose()


def install(runtime: Runtime) -> None:
    settings = runtime.settings
    redis_client: Any = None
    nonces: NonceStore
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis_client = aioredis.from_url(settings.redis_url)
        nonces = RedisNonceStore(redis_client, settings.redis_namespace)
    else:
        nonces = DatabaseNonceStore()
    limiter = AuthRateLimiter(settings.rate_auth, redis_url=settings.redis_url, namespace=settings.redis_namespace)
    rpc = EvmRpc(settings.evm_rpc_url) if settings.evm_rpc_url else None
    codec = NonceCodec(runtime.secrets.secret_key)
    state = AuthState(
        nonces=nonces, codec=codec, limiter=limiter, rpc=rpc, writer=AuthWriter(runtime, nonces, codec), redis=redis_client
    )
    runtime.services["auth"] = state
    runtime.components.append(AuthComponent(state))


def auth_state(runtime: Runtime) -> AuthState:
    state: AuthState = runtime.services["auth"]
    return state
