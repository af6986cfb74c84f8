"""Request and response bodies of the device registry (CONTRACT §2, §5). Keys are base64 strings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_KEY_ID = 0xFFFFFFFE  # 0xFFFFFFFF means "no one-time prekey" on the wire
MAX_OPKS_PER_REQUEST = 200


class SignedPrekeyIn(BaseModel):
    key_id: int = Field(ge=0, le=MAX_KEY_ID)
    public_key: str = Field(max_length=64, description="base64, X25519, 32 bytes")
    signature: str = Field(
        max_length=128, description="base64, Ed25519 by signing_key over the public key bytes"
    )


class OneTimePrekeyIn(BaseModel):
    key_id: int = Field(ge=0, le=MAX_KEY_ID)
    public_key: str = Field(max_length=64, description="base64, X25519, 32 bytes")


class PutDeviceRequest(BaseModel):
    identity_key: str = Field(max_length=64, description="base64, X25519, 32 bytes")
    signing_key: str = Field(max_length=64, description="base64, Ed25519, 32 bytes")
    binding_signature: str = Field(max_length=200, description="0x-hex EIP-191 signature by the wallet")
    issued_at: str = Field(max_length=64, description="RFC 3339; exactly as in the signed statement")
    signed_prekey: SignedPrekeyIn
    one_time_prekeys: list[OneTimePrekeyIn] = Field(default_factory=list, max_length=MAX_OPKS_PER_REQUEST)


class PrekeysRequest(BaseModel):
    one_time_prekeys: list[OneTimePrekeyIn] = Field(default_factory=list, max_length=MAX_OPKS_PER_REQUEST)
    signed_prekey: SignedPrekeyIn | None = None


class SignedPrekeyOut(BaseModel):
    key_id: int
    public_key: str
    signature: str


class OneTimePrekeyOut(BaseModel):
    key_id: int
    public_key: str


class DeviceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    wallet: str
    identity_key: str
    signing_key: str
    binding_signature: str
    issued_at: str
    signed_prekey: SignedPrekeyOut
    one_time_prekeys_remaining: int
    created_at: str
    updated_at: str


class PutDeviceResponse(DeviceOut):
    change: Literal["created", "unchanged", "updated", "keys_changed"]


class DeviceListOut(BaseModel):
    wallet: str
    devices: list[DeviceOut]


class PrekeyBundleOut(BaseModel):
    wallet: str
    device_id: str
    identity_key: str
    signing_key: str
    binding_signature: str
    issued_at: str
    signed_prekey: SignedPrekeyOut
    one_time_prekey: OneTimePrekeyOut | None = Field(
        description="At most one unused one-time prekey, never handed out twice; null when none is left "
        "(X3DH then runs without it, see docs/protocol.md)."
    )


class PrekeysOut(BaseModel):
    device_id: str
    one_time_prekeys_remaining: int
    signed_prekey_id: int
