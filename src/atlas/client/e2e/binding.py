"""The wallet's binding of a device's keys (CONTRACT §5) and the key-backup statement.

The server (on upload) and every client (before trusting a bundle) run the same verification.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from atlas.client.e2e.primitives import ed25519_verify

EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIG_HEX = re.compile(r"^0x[0-9a-fA-F]{130}$")


def binding_statement(
    wallet: str, device_id: str, identity_key_b64: str, signing_key_b64: str, issued_at: str
) -> str:
    """The exact text the wallet signs: six lines joined by ``\\n``, no trailing newline."""
    account = wallet.lower() if EVM_ADDRESS.match(wallet) else wallet
    return "\n".join(
        (
            "ATLAS device key binding",
            f"Account: {account}",
            f"Device: {device_id}",
            f"Identity key: {identity_key_b64}",
            f"Signing key: {signing_key_b64}",
            f"Issued At: {issued_at}",
        )
    )


def backup_statement(wallet: str) -> str:
    return "\n".join(("ATLAS key backup v1", f"Account: {wallet.lower()}"))


def personal_sign(account: Any, text: str) -> str:
    """EIP-191 ``personal_sign`` with an eth-account ``LocalAccount``: 0x-hex, 65 bytes."""
    signed = account.sign_message(encode_defunct(text=text))
    raw = bytes(signed.signature)
    return "0x" + raw.hex()


def account_wallet(account: Any) -> str:
    """The account string of a signer: an eth-account LocalAccount (lowercase address) or a PyNaCl
    ``SigningKey`` (base58 Solana public key)."""
    if hasattr(account, "address"):
        return str(account.address).lower()
    import base58

    return base58.b58encode(bytes(account.verify_key)).decode()


def sign_statement(account: Any, text: str) -> str:
    """The binding signature as CONTRACT §5 wants it: EIP-191 0x-hex for an EVM account, base64
    Ed25519 for a Solana key (PyNaCl ``SigningKey``)."""
    if hasattr(account, "address"):
        return personal_sign(account, text)
    return base64.b64encode(account.sign(text.encode()).signature).decode()


def recover_personal(text: str, signature_hex: str) -> str | None:
    """The lowercase address that produced an EIP-191 signature over ``text``, or None."""
    if not isinstance(signature_hex, str) or not _SIG_HEX.match(signature_hex):
        return None
    try:
        address: str = Account.recover_message(
            encode_defunct(text=text), signature=bytes.fromhex(signature_hex[2:])
        )
    except Exception:  # eth-keys raises several types for invalid r/s/v; all mean "does not verify"
        return None
    return address.lower()


def _solana_verify(wallet: str, text: str, signature_b64: str) -> bool:
    import base58

    try:
        public = base58.b58decode(wallet)
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        return False
    return ed25519_verify(public, signature, text.encode())


def verify_binding(
    wallet: str, device_id: str, identity_key_b64: str, signing_key_b64: str, issued_at: str, signature: str
) -> bool:
    """True when ``signature`` is the account's signature over the binding statement."""
    text = binding_statement(wallet, device_id, identity_key_b64, signing_key_b64, issued_at)
    if EVM_ADDRESS.match(wallet):
        return recover_personal(text, signature) == wallet.lower()
    return _solana_verify(wallet, text, signature)


def verify_signed_prekey(signing_key: bytes, spk_public: bytes, signature: bytes) -> bool:
    """Ed25519(SigK) over the raw 32 bytes of the signed prekey."""
    return len(spk_public) == 32 and ed25519_verify(signing_key, signature, spk_public)
