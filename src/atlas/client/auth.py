"""Sign in with a wallet key from a script: challenge → sign (EIP-191 / Ed25519) → connect-wallet.

    async with AtlasClient("https://atlas.example") as atlas:
        await atlas.sign_in(Account.create())
        me = await atlas.http.get("/v1/auth/session", headers=atlas.headers)

Tests pass the in-process ``client`` fixture instead of a URL: ``AtlasClient(http=client)``.
Tokens are sent only in the ``Authorization`` header, never in a URL.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import base58
import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from nacl.signing import SigningKey


class AuthError(Exception):
    """A sign-in, refresh or logout call answered with a problem."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code = str(problem.get("code", "unknown"))
        super().__init__(f"{status} {self.code}: {problem.get('detail', '')}")


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    wallet: str
    session_id: str
    chain: str
    raw: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class SignedIn:
    wallet: str
    access_token: str
    refresh_token: str
    headers: dict[str, str]
    account: Any  # eth_account LocalAccount, or nacl SigningKey for Solana
    session_id: str = ""
    response: dict[str, Any] | None = None


def _check(resp: httpx.Response) -> dict[str, Any]:
    try:
        body: dict[str, Any] = resp.json() if resp.content else {}
    except ValueError:
        body = {"detail": resp.text}
    if resp.status_code >= 400:
        raise AuthError(resp.status_code, body)
    return body


def sign_evm(account: Any, message: str) -> str:
    """personal_sign: EIP-191 version 0x45 over the message text, as 0x-hex."""
    signed = Account.sign_message(encode_defunct(text=message), private_key=account.key)
    return "0x" + bytes(signed.signature).hex()


def solana_address(key: SigningKey) -> str:
    return base58.b58encode(bytes(key.verify_key)).decode()


class AtlasClient:
    """Wallet sign-in plus token upkeep over one ``httpx.AsyncClient``."""

    def __init__(self, base_url: str | None = None, *, http: httpx.AsyncClient | None = None) -> None:
        if http is None and base_url is None:
            raise ValueError("give base_url or http")
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(base_url=base_url or "", timeout=30)
        self.tokens: Tokens | None = None
        self.last_response: dict[str, Any] | None = None

    async def __aenter__(self) -> AtlasClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    @property
    def headers(self) -> dict[str, str]:
        if self.tokens is None:
            raise RuntimeError("not signed in")
        return self.tokens.headers

    def _store(self, body: dict[str, Any]) -> Tokens:
        self.last_response = body
        self.tokens = Tokens(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_in=int(body["expires_in"]),
            wallet=body["wallet"],
            session_id=body.get("session_id", ""),
            chain=body.get("chain", ""),
            raw=body,
        )
        return self.tokens

    async def challenge(self, address: str, *, chain_id: int | None = None, chain: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"address": address}
        if chain_id is not None:
            payload["chain_id"] = chain_id
        if chain is not None:
            payload["chain"] = chain
        return _check(await self.http.post("/v1/auth/challenge", json=payload))

    async def connect(self, message: str, signature: str, referral_code: str | None = None) -> Tokens:
        payload: dict[str, Any] = {"message": message, "signature": signature}
        if referral_code is not None:
            payload["referral_code"] = referral_code
        return self._store(_check(await self.http.post("/v1/auth/connect-wallet", json=payload)))

    async def sign_in(self, account: Any, referral_code: str | None = None, chain_id: int = 1) -> Tokens:
        """Sign in with an eth_account ``LocalAccount``."""
        challenge = await self.challenge(account.address, chain_id=chain_id)
        return await self.connect(challenge["message"], sign_evm(account, challenge["message"]), referral_code)

    async def sign_in_solana(
        self, key: SigningKey, *, cluster: str = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", referral_code: str | None = None
    ) -> Tokens:
        """Sign in with a Solana Ed25519 key (CAIP-122 message, base64 signature)."""
        challenge = await self.challenge(solana_address(key), chain=f"solana:{cluster}")
        signature = base64.b64encode(key.sign(challenge["message"].encode()).signature).decode()
        return await self.connect(challenge["message"], signature, referral_code)

    async def refresh(self) -> Tokens:
        if self.tokens is None:
            raise RuntimeError("not signed in")
        resp = await self.http.post("/v1/auth/refresh", json={"refresh_token": self.tokens.refresh_token})
        return self._store(_check(resp))

    async def logout(self) -> None:
        _check(await self.http.post("/v1/auth/logout", headers=self.headers))
        self.tokens = None

    async def session(self) -> dict[str, Any]:
        return _check(await self.http.get("/v1/auth/session", headers=self.headers))


async def sign_in(
    http: httpx.AsyncClient, account: Any = None, referral_code: str | None = None, chain_id: int = 1
) -> SignedIn:
    """Test helper: sign a (new, unless given) EVM account in through ``http``."""
    account = account or Account.create()
    client = AtlasClient(http=http)
    tokens = await client.sign_in(account, referral_code=referral_code, chain_id=chain_id)
    return SignedIn(
        wallet=tokens.wallet,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        headers=tokens.headers,
        account=account,
        session_id=tokens.session_id,
        response=tokens.raw,
    )


async def sign_in_solana(
    http: httpx.AsyncClient, key: SigningKey | None = None, referral_code: str | None = None
) -> SignedIn:
    """Test helper: sign a (new, unless given) Solana key in through ``http``."""
    key = key or SigningKey.generate()
    client = AtlasClient(http=http)
    tokens = await client.sign_in_solana(key, referral_code=referral_code)
    return SignedIn(
        wallet=tokens.wallet,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        headers=tokens.headers,
        account=key,
        session_id=tokens.session_id,
        response=tokens.raw,
    )
