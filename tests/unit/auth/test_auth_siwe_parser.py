"""The EIP-4361 parser follows the ABNF exactly; the builder is its inverse."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.auth.siwe import (
    SiweMessage,
    SiweParseError,
    is_checksum_address,
    parse_rfc3339_strict,
    parse_siwe_message,
    parse_solana_message,
    to_checksum_address,
)

EIP_EXAMPLE = """example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""

FULL = """https://example.com:3388 wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

Sign in.

URI: https://example.com/login?x=1#frag
Version: 1
Chain ID: 137
Nonce: abcDEF123456
Issued At: 2021-09-30T16:25:24.123+02:00
Expiration Time: 2021-09-30T17:25:24Z
Not Before: 2021-09-30T16:00:00Z
Request ID: req-1:@!$&'()*+,;=
Resources:"""


def test_eip_example_parses() -> None:
    m = parse_siwe_message(EIP_EXAMPLE)
    assert m.domain == "example.com"
    assert m.scheme is None
    assert m.address == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert m.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert m.uri == "https://example.com/login"
    assert m.chain_id == 1
    assert m.nonce == "32891756"
    assert m.issued_at_time == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert m.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert m.to_text() == EIP_EXAMPLE


def test_all_optional_fields_and_round_trip() -> None:
    m = parse_siwe_message(FULL)
    assert m.scheme == "https"
    assert m.domain == "example.com:3388"
    assert m.chain_id == 137
    assert m.issued_at_time == datetime(2021, 9, 30, 14, 25, 24, 123000, tzinfo=UTC)
    assert m.expiration_time == "2021-09-30T17:25:24Z"
    assert m.not_before == "2021-09-30T16:00:00Z"
    assert m.request_id == "req-1:@!$&'()*+,;="
    assert m.resources == ()
    assert m.to_text() == FULL


def test_statement_absent_and_empty_are_distinct() -> None:
    absent = EIP_EXAMPLE.replace("I accept the ExampleOrg Terms of Service: https://example.com/tos\n", "")
    assert "Cc2\n\n\nURI: " in absent  # ABNF: address LF LF [statement LF] LF
    m = parse_siwe_message(absent)
    assert m.statement is None
    assert m.to_text() == absent
    empty = EIP_EXAMPLE.replace("I accept the ExampleOrg Terms of Service: https://example.com/tos", "")
    e = parse_siwe_message(empty)
    assert e.statement == ""
    assert e.to_text() == empty
    with pytest.raises(SiweParseError):  # one blank line too few
        parse_siwe_message(absent.replace("\n\n\nURI: ", "\n\nURI: "))


def _swap(old: str, new: str) -> str:
    assert old in EIP_EXAMPLE
    return EIP_EXAMPLE.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "message_malformed"),
        (EIP_EXAMPLE.replace("\n", "\r\n"), "message_malformed"),
        (EIP_EXAMPLE + "\n", "message_malformed"),
        (_swap("Ethereum account:", "ethereum account:"), "message_malformed"),
        (_swap("example.com wants", "exa mple.com wants"), "message_malformed"),
        (_swap("example.com wants", "ht_tp://example.com wants"), "message_malformed"),
        (_swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), "address_not_checksummed"),
        (_swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756CC2"), "address_not_checksummed"),
        (_swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc"), "address_invalid"),
        (_swap("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"), "message_malformed"),
        (_swap("Terms of Service", "Terms\tof Service"), "message_malformed"),
        (_swap("Terms of Service", "Terms of Servicé"), "message_malformed"),
        (_swap("Terms of Service", 'Terms of "Service"'), "message_malformed"),
        (_swap("URI: https://example.com/login", "URI: not a uri"), "message_malformed"),
        (_swap("URI: https://example.com/login", "URI: /relative"), "message_malformed"),
        (_swap("URI: https://example.com/login", "URI: https://exa mple.com"), "message_malformed"),
        (_swap("URI: https://example.com/login", "URI: https://example.com/%zz"), "message_malformed"),
        (_swap("URI: ", "Uri: "), "message_malformed"),
        (_swap("Version: 1", "Version: 2"), "version_unsupported"),
        (_swap("Chain ID: 1", "Chain ID: one"), "message_malformed"),
        (_swap("Chain ID: 1", "Chain ID: -1"), "message_malformed"),
        (_swap("Nonce: 32891756", "Nonce: 3289175"), "nonce_malformed"),
        (_swap("Nonce: 32891756", "Nonce: 32891756!"), "nonce_malformed"),
        (_swap("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30 16:25:24Z"), "message_malformed"),
        (_swap("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-02-30T16:25:24Z"), "message_malformed"),
        (_swap("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30T24:00:00Z"), "message_malformed"),
        (_swap("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30T16:25:24"), "message_malformed"),
        (_swap("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30T16:25:24+25:00"), "message_malformed"),
        (_swap("Nonce: 32891756\n", ""), "message_malformed"),
        (_swap("Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1"), "message_malformed"),
        (_swap("Resources:", "Not Before: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T16:25:24Z\nResources:"), "message_malformed"),
        (_swap("- https://example.com/my-web2-claim.json", "- not a uri"), "message_malformed"),
        (_swap("- https://example.com/my-web2-claim.json", "-https://example.com/x"), "message_malformed"),
        (_swap("Resources:", "Request ID: a b\nResources:"), "message_malformed"),
        (EIP_EXAMPLE.replace("Ethereum account", "Solana account"), "message_malformed"),
    ],
)
def test_rejections_carry_codes(text: str, code: str) -> None:
    with pytest.raises(SiweParseError) as info:
        parse_siwe_message(text)
    assert info.value.code == code


@pytest.mark.parametrize(
    "domain",
    ["localhost", "127.0.0.1:8000", "[::1]:8000", "user:pw@example.com", "sub.example.co.uk", "[v1.fe80::a+en1]"],
)
def test_authorities(domain: str) -> None:
    m = parse_siwe_message(EIP_EXAMPLE.replace("example.com wants", f"{domain} wants", 1))
    assert m.domain == domain


@pytest.mark.parametrize("domain", ["[::1", "[zz::1]", "example.com:80a", "exa/mple.com", "a b"])
def test_bad_authorities(domain: str) -> None:
    with pytest.raises(SiweParseError):
        parse_siwe_message(EIP_EXAMPLE.replace("example.com wants", f"{domain} wants", 1))


def test_times() -> None:
    assert parse_rfc3339_strict("2016-12-31T23:59:60Z") == datetime(2017, 1, 1, tzinfo=UTC)
    assert parse_rfc3339_strict("2021-09-30t16:25:24z") == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert parse_rfc3339_strict("2021-09-30T16:25:24-01:30") == datetime(2021, 9, 30, 17, 55, 24, tzinfo=UTC)
    for bad in ("2021-9-30T16:25:24Z", "2021-09-30T16:25Z", "2021-09-30T16:25:24.Z", "20210930T162524Z"):
        with pytest.raises(ValueError):  # noqa: PT011 - any ValueError is a refusal
            parse_rfc3339_strict(bad)


def test_eip55() -> None:
    # Test vectors from EIP-55.
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert is_checksum_address(address)
        assert to_checksum_address(address.lower()) == address
        assert not is_checksum_address(address.lower())


def test_solana_caip122_message() -> None:
    text = (
        "https://atlas.example wants you to sign in with your Solana account:\n"
        "GwHH8ciFhR8vejWCqmg8FWZUCNtubPY2esALvy5tBvji\n\nSign in.\n\n"
        "URI: https://atlas.example\nVersion: 1\nChain ID: 5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp\n"
        "Nonce: abcdefgh1234\nIssued At: 2026-01-01T00:00:00Z"
    )
    m = parse_solana_message(text)
    assert m.caip2 == "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
    assert m.address == "GwHH8ciFhR8vejWCqmg8FWZUCNtubPY2esALvy5tBvji"
    assert m.to_text() == text
    with pytest.raises(SiweParseError) as info:
        parse_solana_message(text.replace("GwHH8ciFhR8vejWCqmg8FWZUCNtubPY2esALvy5tBvji", "0OIl" * 11))
    assert info.value.code == "address_invalid"


# -- properties ------------------------------------------------------------------------------------

_alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=40)
_statement = st.text(alphabet="abcxyzABC019 .,:;!?/#@[]$&'()*+=-_~", max_size=80)
_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)  # noqa: DTZ001 - hypothesis takes naive bounds
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + ("." + f"{d.microsecond:06d}" if d.microsecond else "") + "Z")
_uris = st.sampled_from(
    ["https://example.com", "http://127.0.0.1:8000", "urn:isbn:0451450523", "ipfs://bafy/x?y=1#z", "did:pkh:eip155:1:0xab"]
)
_addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address("0x" + b.hex()))


@st.composite
def messages(draw: st.DrawFn) -> SiweMessage:
    return SiweMessage(
        scheme=draw(st.none() | st.sampled_from(["https", "http", "x-app+v1.2"])),
        domain=draw(st.sampled_from(["example.com", "127.0.0.1:8000", "[::1]:443", "a-b.c"])),
        address=draw(_addresses),
        statement=draw(st.none() | _statement),
        uri=draw(_uris),
        version="1",
        chain_id=draw(st.integers(min_value=0, max_value=2**64)),
        nonce=draw(_alnum),
        issued_at=draw(_times),
        expiration_time=draw(st.none() | _times),
        not_before=draw(st.none() | _times),
        request_id=draw(st.none() | st.text(alphabet="abc123-._~:@!$", max_size=20)),
        resources=draw(st.none() | st.lists(_uris, max_size=3).map(tuple)),
    )


@settings(max_examples=200, deadline=None)
@given(messages())
def test_build_then_parse_round_trips(message: SiweMessage) -> None:
    text = message.to_text()
    assert parse_siwe_message(text) == message
    assert parse_siwe_message(text).to_text() == text


@settings(max_examples=200, deadline=None)
@given(messages(), st.data())
def test_parse_fails_only_with_siwe_parse_error(message: SiweMessage, data: st.DataObject) -> None:
    text = message.to_text()
    index = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.characters(codec="utf-8"))
    mutated = text[:index] + replacement + text[index + 1 :]
    try:
        parsed = parse_siwe_message(mutated)
    except SiweParseError:
        return
    # If it still parses, it must be a faithful parse of the mutated text.
    assert parsed.to_text() == mutated


def test_dataclass_replace_keeps_type() -> None:
    m = parse_siwe_message(EIP_EXAMPLE)
    assert isinstance(dataclasses.replace(m, nonce="zzzzzzzz"), SiweMessage)
