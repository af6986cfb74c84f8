"""Request and response bodies of /v1/auth (CONTRACT §2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        min_length=1, max_length=64, description="EVM address (any case) or base58 Solana public key."
    )
    chain_id: int | None = Field(
        default=None, ge=0, le=2**53 - 1, description="EVM chain id; defaults to the first allowed one."
    )
    chain: str | None = Field(
        default=None,
        max_length=64,
        description="CAIP-2 chain instead of chain_id: 'eip155:<id>' or 'solana:<reference>'.",
    )


class ChallengeResponse(BaseModel):
    message: str = Field(description="The complete EIP-4361 (or CAIP-122) text for the wallet to sign.")
    nonce: str
    expires_at: str
    issued_at: str
    address: str
    chain: str = Field(description="CAIP-2 chain of the message.")


class ConnectWalletRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=8192)
    signature: str = Field(
        min_length=1,
        max_length=16384,
        description="EVM: 0x-hex as personal_sign returns it. Solana: 64-byte Ed25519 signature, base64 or base58.",
    )
    referral_code: str | None = Field(default=None, max_length=64)


class ReferralOutcome(BaseModel):
    accepted: bool
    reason: str | None


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type name, not a secret
    expires_in: int
    wallet: str
    session_id: str
    chain: str


class ConnectWalletResponse(TokenResponse):
    profile_exists: bool
    registered: bool = Field(description="True when this sign-in created the account.")
    referral: ReferralOutcome | None = Field(description="Outcome of referral_code; null when none was given.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=256)


class SessionInfo(BaseModel):
    session_id: str
    wallet: str
    chain_id: str = Field(description="CAIP-2 chain the session signed in on, e.g. 'eip155:1'.")
    created_at: str
    last_used_at: str
    expires_at: str
    current: bool


class SessionList(BaseModel):
    sessions: list[SessionInfo]
