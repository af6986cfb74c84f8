"""Checks a signed sign-in message against this deployment, now — everything except the nonce.

Each check defends against something specific (docs/auth.md):
- scheme, domain, uri: a message signed for a phishing site is useless here;
- chain id: a session claims a network the deployment accepts;
- statement: the user agreed to *this* text, not one made for another purpose;
- issued-at / expiration / not-before: a stolen or pre-signed message has a short shelf life;
- the signature: the account's key (or contract) really signed exactly this text.
The nonce (single use, bound to the address) is spent afterwards, in the session's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from atlas.auth.errors import ChainNotAllowed, SignInMalformed, SignInRejected
from atlas.auth.signatures import (
    EvmRpc,
    SignatureFormatError,
    decode_evm_signature,
    decode_solana_signature,
    eip191_hash,
    recover_eoa,
    verify_ed25519,
)
from atlas.auth.siwe import SiweMessage, SiweParseError, parse_siwe_message, parse_solana_message
from atlas.config import Settings

STATEMENT = "Sign in to ATLAS. This request will not trigger a blockchain transaction or cost any fees."
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class VerifiedSignIn:
    wallet: str  # lowercase 0x-address, or base58 Solana key as is
    chain: str  # CAIP-2
    nonce: str
    message: SiweMessage


def normalize_wallet(address: str, family: str) -> str:
    return address.lower() if family == "eip155" else address


def parse_any(text: str) -> SiweMessage:
    """EIP-4361 for EVM accounts, its CAIP-122 form for Solana ones, chosen by the header line."""
    first = text.split("\n", 1)[0] if isinstance(text, str) else ""
    if first.endswith(" wants you to sign in with your Solana account:"):
        return parse_solana_message(text)
    return parse_siwe_message(text)


def _authority(domain: str, scheme: str) -> str:
    """Hosts compare case-insensitively and an explicit default port equals none."""
    lowered = domain.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and lowered.endswith(":" + default) and not lowered.endswith("]"):
        lowered = lowered[: -len(default) - 1]
    return lowered


@dataclass(frozen=True)
class Origin:
    """This service's scheme and SIWE ``domain`` (and the latter as :func:`_authority` compares it)."""

    scheme: str
    authority: str
    compared_authority: str


def service_origin(settings: Settings) -> Origin:
    """``Settings.public_scheme`` / ``public_authority`` re-split the URL on every access; both
    depend on ``public_url`` only, so they are derived once per URL."""
    url = settings.public_url
    cached = _ORIGINS.get(url)
    if cached is None:
        if len(_ORIGINS) >= 16:  # more than one URL only in tests; bounded anyway
            _ORIGINS.clear()
        scheme, authority = settings.public_scheme, settings.public_authority
        cached = _ORIGINS[url] = Origin(scheme, authority, _authority(authority, scheme))
    return cached


_ORIGINS: dict[str, Origin] = {}


def check_message(message: SiweMessage, *, settings: Settings, now: datetime) -> None:
    """Everything about the text itself; raises a problem with a specific code."""
    origin = service_origin(settings)
    scheme = message.scheme or "https"  # EIP-4361: no scheme means https
    if scheme.lower() != origin.scheme:
        raise SignInRejected(
            f"The message is for scheme '{scheme}', this service is '{origin.scheme}'.",
            code="scheme_mismatch",
        )
    if _authority(message.domain, scheme) != origin.compared_authority:
        raise SignInRejected(
            f"The message is for domain '{message.domain}', not this service.", code="domain_mismatch"
        )
    if message.uri not in (settings.public_url, settings.public_url + "/"):
        raise SignInRejected("The message's URI is not this service's.", code="uri_mismatch")
    if isinstance(message, SiweMessage) and message.account_type == "Ethereum":
        if message.chain_id not in settings.chain_ids:
            raise ChainNotAllowed(f"Chain id {message.chain_id} is not accepted here.")
    elif message.chain_ref not in settings.solana_chains:
        raise ChainNotAllowed(f"Solana chain '{message.chain_ref}' is not accepted here.")
    if message.statement != STATEMENT:
        raise SignInRejected("The message's statement is not this service's.", code="statement_mismatch")
    skew = timedelta(seconds=settings.auth_clock_skew_seconds)
    issued_at = message.issued_at_time
    if issued_at > now + skew:
        raise SignInRejected("The message was issued in the future.", code="issued_at_in_future")
    expiration = message.expiration
    if expiration is not None and expiration <= now:
        raise SignInRejected("The message has expired; request a new challenge.", code="message_expired")
    not_before = message.not_before_time
    if not_before is not None and not_before > now + skew:
        raise SignInRejected("The message is not valid yet.", code="message_not_yet_valid")
    if now - issued_at > timedelta(seconds=settings.challenge_ttl_seconds) + skew:
        raise SignInRejected("The message is too old; request a new challenge.", code="message_stale")


async def check_signature(
    message: SiweMessage, text: str, signature: str, *, rpc: EvmRpc | None
) -> None:
    if message.account_type == "Solana":
        try:
            raw = decode_solana_signature(signature)
        except SignatureFormatError as exc:
            raise SignInMalformed(str(exc), code="signature_malformed") from None
        if not verify_ed25519(message.address, text.encode(), raw):
            raise SignInRejected("The signature does not verify for this account.", code="signature_invalid")
        return
    try:
        raw = decode_evm_signature(signature)
    except SignatureFormatError as exc:
        raise SignInMalformed(str(exc), code="signature_malformed") from None
    digest = eip191_hash(text.encode())
    expected = message.address.lower()
    if len(raw) == 65 and recover_eoa(digest, raw) == expected:
        return
    if rpc is None:
        if len(raw) == 65:
            raise SignInRejected("The signature does not verify for this account.", code="signature_invalid")
        raise SignInRejected(
            "Smart-contract wallet signatures need an EVM RPC endpoint, which is not configured.",
            code="contract_wallet_unsupported",
        )
    try:
        served = await rpc.chain_id()
        if served != message.chain_id:
            raise SignInRejected(
                f"Contract wallets can sign in on chain {served} only (the configured RPC's chain).",
                code="contract_wallet_unsupported",
            )
        valid = await rpc.verify_contract_signature(message.address, digest, raw)
    except SignInRejected:
        raise
    except SignatureFormatError as exc:
        raise SignInMalformed(str(exc), code="signature_malformed") from None
    except Exception:  # network failures must not become a 500 or a sign-in
        raise SignInRejected(
            "The contract wallet's signature could not be checked right now.", code="contract_check_failed"
        ) from None
    if not valid:
        raise SignInRejected("The signature does not verify for this account.", code="signature_invalid")


async def verify_sign_in(
    text: str, signature: str, *, settings: Settings, now: datetime, rpc: EvmRpc | None
) -> VerifiedSignIn:
    try:
        message = parse_any(text)
    except SiweParseError as exc:
        raise SignInMalformed(exc.detail, code=exc.code) from None
    check_message(message, settings=settings, now=now)
    await check_signature(message, text, signature, rpc=rpc)
    family = "solana" if message.account_type == "Solana" else "eip155"
    return VerifiedSignIn(
        wallet=normalize_wallet(message.address, family),
        chain=message.caip2,
        nonce=message.nonce,
        message=message,
    )
