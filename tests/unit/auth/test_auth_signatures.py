"""EIP-191 recovery agrees with eth-account; Solana Ed25519 decoding; access-token checks."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import base58
import jwt
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from nacl.signing import SigningKey

from atlas.auth.signatures import (
    SECP256K1_N,
    SignatureFormatError,
    decode_evm_signature,
    decode_solana_signature,
    eip191_hash,
    recover_eoa,
    verify_ed25519,
)
from atlas.auth.tokens import AccessTokenError, decode_access_token, issue_access_token
from atlas.client.auth import sign_evm


def test_recovery_matches_eth_account() -> None:
    for i in range(20):
        account = Account.create()
        text = f"message {i}\nwith lines"
        sig = decode_evm_signature(sign_evm(account, text))
        assert recover_eoa(eip191_hash(text.encode()), sig) == account.address.lower()
        assert Account.recover_message(encode_defunct(text=text), signature=sig).lower() == account.address.lower()


def test_non_canonical_signatures_are_refused() -> None:
    account = Account.create()
    sig = decode_evm_signature(sign_evm(account, "hi"))
    digest = eip191_hash(b"hi")
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin
    assert recover_eoa(digest, high_s) is None
    assert recover_eoa(digest, sig[:64] + bytes([v - 27])) is None  # v in {0, 1}
    assert recover_eoa(digest, sig[:64] + bytes([29])) is None
    assert recover_eoa(digest, sig[:64]) is None
    assert recover_eoa(digest, b"\x00" * 65) is None


@pytest.mark.parametrize("bad", ["", "0x", "0x0", "00ab", "0xgg", "0X00", " 0x00"])
def test_evm_signature_encoding(bad: str) -> None:
    with pytest.raises(SignatureFormatError):
        decode_evm_signature(bad)


def test_solana_signatures_base64_and_base58() -> None:
    key = SigningKey.generate()
    address = base58.b58encode(bytes(key.verify_key)).decode()
    raw = key.sign(b"hello").signature
    for encoded in (base64.b64encode(raw).decode(), base58.b58encode(raw).decode()):
        decoded = decode_solana_signature(encoded)
        assert decoded == raw
        assert verify_ed25519(address, b"hello", decoded)
    assert not verify_ed25519(address, b"hellO", raw)
    other = base58.b58encode(bytes(SigningKey.generate().verify_key)).decode()
    assert not verify_ed25519(other, b"hello", raw)
    for bad in ("", "0x00", base64.b64encode(raw[:63]).decode(), "!" * 88, base64.b64encode(raw).decode()[:-2]):
        with pytest.raises(SignatureFormatError):
            decode_solana_signature(bad)


KEY = b"k" * 64
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_access_token_round_trip_and_expiry() -> None:
    token, ttl = issue_access_token(
        key=KEY, issuer="http://x", wallet="0xab", session_id="s1", chain="eip155:1", now=NOW, ttl=900
    )
    claims = decode_access_token(token, key=KEY, issuer="http://x", now=NOW + timedelta(seconds=899))
    assert (claims.wallet, claims.session_id, claims.chain, ttl) == ("0xab", "s1", "eip155:1", 900)
    with pytest.raises(AccessTokenError) as info:
        decode_access_token(token, key=KEY, issuer="http://x", now=NOW + timedelta(seconds=900))
    assert info.value.code == "token_expired"
    for key, issuer in ((b"other" * 8, "http://x"), (KEY, "http://y")):
        with pytest.raises(AccessTokenError) as info:
            decode_access_token(token, key=key, issuer=issuer, now=NOW)
        assert info.value.code == "token_invalid"


def test_access_token_refuses_other_algorithms_and_types() -> None:
    claims = {"iss": "http://x", "aud": "atlas", "sub": "0xab", "sid": "s", "jti": "j", "iat": 1, "exp": 2**40}
    forged = [
        jwt.encode(claims, KEY, algorithm="HS256"),  # no "at+jwt" typ: e.g. another service's JWT
        jwt.encode(claims, KEY, algorithm="HS512", headers={"typ": "at+jwt"}),
        jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt"}),
    ]
    for token in forged:
        with pytest.raises(AccessTokenError):
            decode_access_token(token, key=KEY, issuer="http://x", now=NOW)
