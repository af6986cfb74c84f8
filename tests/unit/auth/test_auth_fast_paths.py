"""The hand-tuned hot-path pieces agree with the reference libraries they replace."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import jwt
import pytest
from eth_hash.auto import keccak as reference_keccak
from eth_utils import to_checksum_address as reference_checksum

from atlas.auth.keccak import keccak256
from atlas.auth.siwe import SiweParseError, parse_siwe_message, to_checksum_address
from atlas.auth.tokens import ALGORITHM, TOKEN_TYPE, _encode_hs256, decode_access_token, issue_access_token


def test_keccak_matches_eth_hash() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    for size in (0, 1, 31, 32, 135, 136, 137, 500, 5000):
        data = os.urandom(size)
        assert keccak256(data) == reference_keccak(data)


def test_keccak_per_thread_state() -> None:
    inputs = [os.urandom(n) for n in range(64)]
    expected = [reference_keccak(d) for d in inputs]
    failures: list[int] = []

    def work() -> None:
        for _ in range(50):
            failures.extend(i for i, d in enumerate(inputs) if keccak256(d) != expected[i])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_checksum_matches_eth_utils() -> None:
    for _ in range(200):
        lower = "0x" + os.urandom(20).hex()
        expected = reference_checksum(lower)
        assert to_checksum_address(lower) == expected
        assert to_checksum_address(lower.upper().replace("0X", "0x")) == expected  # cached per lowercase form
        assert to_checksum_address(expected) == expected


@pytest.mark.parametrize("char", ["\r", "\t", "\x00", "\x7f", "é", "\u2028"])
def test_parser_refuses_non_printable(char: str) -> None:
    text = (
        "example.com wants you to sign in with your Ethereum account:\n"
        f"{to_checksum_address('0x' + '11' * 20)}\n\nHi{char}there\n\n"
        "URI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: abcdefgh12\nIssued At: 2026-11-26T10:00:00Z"
    )
    with pytest.raises(SiweParseError):
        parse_siwe_message(text)
    assert parse_siwe_message(text.replace(char, " ")).statement == "Hi there"


def test_hs256_is_byte_identical_to_pyjwt() -> None:
    key = os.urandom(32)
    claims = {
        "iss": "https://atlas.example",
        "aud": "atlas",
        "sub": "0x" + "ab" * 20,
        "sid": "5f0c3c8e-4d1e-4b8a-9a57-0d7f3b8c1e2a",
        "chain": "eip155:1",
        "jti": "0123456789abcdef0123456789abcdef",
        "iat": 1_790_000_000,
        "exp": 1_790_000_900,
    }
    assert _encode_hs256(claims, key) == jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})


def test_issued_token_decodes() -> None:
    key = os.urandom(32)
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    token, ttl = issue_access_token(
        key=key, issuer="https://atlas.example", wallet="0xabc", session_id="sid", chain="eip155:1", now=now, ttl=900
    )
    claims = decode_access_token(token, key=key, issuer="https://atlas.example", now=now)
    assert (claims.wallet, claims.session_id, claims.chain, claims.expires_at - claims.issued_at) == (
        "0xabc",
        "sid",
        "eip155:1",
        ttl,
    )
