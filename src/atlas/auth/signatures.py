"""Signature checks: EIP-191 recovery for EVM accounts, Ed25519 for Solana, ERC-1271 / EIP-6492 for
smart-contract wallets through an Ethereum JSON-RPC endpoint.

EVM recovery calls libsecp256k1 (coincurve) directly rather than going through eth-account's
generic machinery: it is the hot path of every sign-in and the result is identical.
"""

from __future__ import annotations

import base64
import binascii
import re

import base58
import coincurve
import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from atlas.auth.keccak import keccak256 as keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
_RE_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
# EIP-6492: a signature for a not-yet-deployed contract wallet ends with this 32-byte suffix.
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


class SignatureFormatError(ValueError):
    """The signature is not even well-formed (wrong encoding or length)."""


def eip191_hash(message: bytes) -> bytes:
    """``keccak256("\\x19Ethereum Signed Message:\\n" ‖ len ‖ message)`` — what personal_sign signs."""
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def decode_evm_signature(signature: str) -> bytes:
    """``0x``-prefixed hex as personal_sign returns it (65 bytes for an EOA, any length for contracts)."""
    if not isinstance(signature, str) or not _RE_HEX.fullmatch(signature):
        raise SignatureFormatError("The signature must be 0x-prefixed hex.")
    return bytes.fromhex(signature[2:])


def recover_eoa(digest: bytes, signature: bytes) -> str | None:
    """Lowercase address that produced a 65-byte ``r ‖ s ‖ v`` signature over ``digest``, or None.

    Accepts only v in {27, 28}, what ``personal_sign`` returns, and refuses high-s signatures
    (EIP-2): each signature then has exactly one accepted encoding, so any change to its bytes is
    a rejection (v in {0, 1} would make two encodings of one signature valid).
    """
    if len(signature) != 65:
        return None
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        return None
    v -= 27
    if not (0 < r < SECP256K1_N and 0 < s <= _HALF_N):
        return None
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), digest, hasher=None
        )
    except (ValueError, TypeError):
        return None
    return "0x" + keccak(public.format(compressed=False)[1:])[-20:].hex()


def decode_solana_signature(signature: str) -> bytes:
    """64-byte Ed25519 signature as standard base64 (with padding) or base58."""
    if not isinstance(signature, str) or not signature:
        raise SignatureFormatError("The signature is empty.")
    raw: bytes | None = None
    if len(signature) == 88 and signature.endswith("="):
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        try:
            raw = base58.b58decode(signature)
        except ValueError:
            raw = None
        # base58 has many spellings only via leading '1's, which change the length: re-encode to be sure.
        if raw is not None and base58.b58encode(raw).decode() != signature:
            raw = None
    if raw is None or len(raw) != 64:
        raise SignatureFormatError("A Solana signature is 64 bytes, as base64 or base58.")
    return raw


def verify_ed25519(public_key_b58: str, message: bytes, signature: bytes) -> bool:
    try:
        VerifyKey(base58.b58decode(public_key_b58)).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


# -- ERC-1271 / EIP-6492 ---------------------------------------------------------------------------


def _abi_bytes32_bytes(digest: bytes, data: bytes) -> bytes:
    """ABI encoding of ``(bytes32, bytes)``."""
    padded = data + b"\x00" * (-len(data) % 32)
    return digest + (64).to_bytes(32, "big") + len(data).to_bytes(32, "big") + padded


def _abi_decode_6492(wrapped: bytes) -> tuple[bytes, bytes, bytes]:
    """``abi.decode(sig[:-32], (address, bytes, bytes))`` → (factory, factoryCalldata, signature)."""
    body = wrapped[: -len(ERC6492_SUFFIX)]

    def dynamic(head_offset: int) -> bytes:
        offset = int.from_bytes(body[head_offset : head_offset + 32], "big")
        length = int.from_bytes(body[offset : offset + 32], "big")
        if offset + 32 + length > len(body):
            raise SignatureFormatError("Malformed EIP-6492 signature.")
        return body[offset + 32 : offset + 32 + length]

    if len(body) < 96:
        raise SignatureFormatError("Malformed EIP-6492 signature.")
    factory = body[12:32]
    return factory, dynamic(32), dynamic(64)


class EvmRpc:
    """The few JSON-RPC calls contract-wallet verification needs."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self._http = httpx.AsyncClient(timeout=timeout)
        self._chain_id: int | None = None

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, params: list[object]) -> str:
        resp = await self._http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        resp.raise_for_status()
        body = resp.json()
        if "error" in body:
            raise RuntimeError(str(body["error"].get("message", "rpc error")))
        result = body.get("result")
        if not isinstance(result, str):
            raise RuntimeError("rpc result is not a string")
        return result

    async def chain_id(self) -> int:
        """The chain the endpoint serves (asked once): ERC-1271 must run on the message's chain."""
        if self._chain_id is None:
            self._chain_id = int(await self._call("eth_chainId", []), 16)
        return self._chain_id

    async def has_code(self, address: str) -> bool:
        code = await self._call("eth_getCode", [address, "latest"])
        return code not in ("0x", "0x0", "")

    async def erc1271_valid(self, address: str, digest: bytes, signature: bytes) -> bool:
        data = "0x" + (ERC1271_MAGIC + _abi_bytes32_bytes(digest, signature)).hex()
        try:
            out = await self._call("eth_call", [{"to": address, "data": data}, "latest"])
        except RuntimeError:
            return False  # a revert is a "no"
        raw = bytes.fromhex(out[2:]) if out.startswith("0x") and len(out) % 2 == 0 else b""
        return raw[:4] == ERC1271_MAGIC

    async def verify_contract_signature(self, address: str, digest: bytes, signature: bytes) -> bool:
        """ERC-1271 ``isValidSignature``, unwrapping an EIP-6492 signature first.

        A 6492-wrapped signature for a wallet that is already deployed is checked with its inner
        signature. A wallet that is not deployed yet is refused (False): simulating its deployment
        needs EIP-6492's universal validator bytecode in an ``eth_call``, which is not implemented.
        """
        if signature.endswith(ERC6492_SUFFIX):
            _factory, _calldata, inner = _abi_decode_6492(signature)
            if not await self.has_code(address):
                return False
            return await self.erc1271_valid(address, digest, inner)
        if not await self.has_code(address):
            return False
        return await self.erc1271_valid(address, digest, signature)
