"""A strict EIP-4361 (Sign-In with Ethereum) parser and builder, and its CAIP-122 sibling for Solana.

The parser follows the ABNF of EIP-4361 exactly: LF line breaks only, fields in their fixed order,
EIP-55 checksummed addresses, RFC 3339 times, nonces of at least 8 alphanumerics, RFC 3986 URIs and
authorities. Anything else raises :class:`SiweParseError` with a stable ``code``. It checks form
only; whether a message is acceptable *here and now* is :mod:`atlas.auth.verify`'s job.

CAIP-122 reuses the same grammar with the chain namespace's name in the header ("… with your
Solana account:"), the account's native address (base58 public key) and the CAIP-2 reference as
``Chain ID``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import base58

from atlas.auth.keccak import keccak256

__all__ = [
    "SiweMessage",
    "SiweParseError",
    "SolanaSignInMessage",
    "build_message",
    "is_checksum_address",
    "parse_rfc3339_strict",
    "parse_siwe_message",
    "parse_solana_message",
    "to_checksum_address",
]


class SiweParseError(ValueError):
    """The text is not a valid EIP-4361 (or CAIP-122) message. ``code`` says which rule failed."""

    def __init__(self, detail: str, code: str = "message_malformed") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SiweMessage:
    """An EIP-4361 message. Times keep their exact text so that ``to_text()`` round-trips."""

    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    scheme: str | None = None
    statement: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] | None = None

    account_type = "Ethereum"

    def to_text(self) -> str:
        return build_message(self)

    @property
    def chain_ref(self) -> str:
        return str(self.chain_id)

    @property
    def caip2(self) -> str:
        return f"eip155:{self.chain_id}"

    @property
    def issued_at_time(self) -> datetime:
        return parse_rfc3339_strict(self.issued_at)

    @property
    def expiration(self) -> datetime | None:
        return None if self.expiration_time is None else parse_rfc3339_strict(self.expiration_time)

    @property
    def not_before_time(self) -> datetime | None:
        return None if self.not_before is None else parse_rfc3339_strict(self.not_before)


@dataclass(frozen=True)
class SolanaSignInMessage(SiweMessage):
    """A CAIP-122 message for a Solana account; ``chain_id`` holds 0 and ``chain_reference`` the ref."""

    chain_reference: str = ""
    account_type = "Solana"

    @property
    def chain_ref(self) -> str:
        return self.chain_reference

    @property
    def caip2(self) -> str:
        return f"solana:{self.chain_reference}"


# -- RFC 3986 / 5234 character classes -------------------------------------------------------------

_ALPHA_DIGIT = "A-Za-z0-9"
_UNRESERVED = _ALPHA_DIGIT + r"\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_RE_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_RE_USERINFO = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*")
_RE_REG_NAME = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*")
_RE_PORT = re.compile(r"[0-9]*")
_RE_IPVFUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+")
_RE_PATH = re.compile(rf"(?:{_PCHAR}|/)*")
_RE_QUERY = re.compile(rf"(?:{_PCHAR}|[/?])*")
_RE_PCHARS = re.compile(rf"{_PCHAR}*")
# statement = *( reserved / unreserved / " " ); reserved = gen-delims / sub-delims
_RE_STATEMENT = re.compile(rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@ ]*")
_RE_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_RE_NONCE = re.compile(r"[A-Za-z0-9]{8,}")
_RE_CHAIN_ID = re.compile(r"[0-9]{1,78}")
# CAIP-2 reference: [-_a-zA-Z0-9]{1,32}
_RE_CAIP2_REFERENCE = re.compile(r"[-_a-zA-Z0-9]{1,32}")
_RE_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))"
)
# The whole message: printable ASCII and LF only (one C-level scan instead of a Python loop per char).
_RE_PRINTABLE = re.compile(r"[ -~\n]*")
_BASE58_ALPHABET = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        if not host.endswith("]"):
            return False
        inner = host[1:-1]
        if _RE_IPVFUTURE.fullmatch(inner):
            return True
        if "%" in inner:  # zone ids are not part of RFC 3986's IPv6address
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    # IPv4address is a subset of reg-name.
    return _RE_REG_NAME.fullmatch(host) is not None


def valid_authority(authority: str) -> bool:
    """RFC 3986 ``authority = [ userinfo "@" ] host [ ":" port ]``."""
    rest = authority
    if "@" in rest:
        userinfo, rest = rest.rsplit("@", 1)
        if not _RE_USERINFO.fullmatch(userinfo):
            return False
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return False
        host, after = rest[: close + 1], rest[close + 1 :]
        if after and not (after.startswith(":") and _RE_PORT.fullmatch(after[1:])):
            return False
        return _valid_host(host)
    if ":" in rest:
        host, port = rest.rsplit(":", 1)
        if not _RE_PORT.fullmatch(port):
            return False
    else:
        host = rest
    return _valid_host(host)


def valid_uri(uri: str) -> bool:
    """RFC 3986 ``URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]``."""
    colon = uri.find(":")
    if colon <= 0 or not _RE_SCHEME.fullmatch(uri[:colon]):
        return False
    rest = uri[colon + 1 :]
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
        if not _RE_QUERY.fullmatch(fragment):
            return False
    if "?" in rest:
        rest, query = rest.split("?", 1)
        if not _RE_QUERY.fullmatch(query):
            return False
    if rest.startswith("//"):
        after = rest[2:]
        slash = after.find("/")
        authority, path = (after, "") if slash < 0 else (after[:slash], after[slash:])
        return valid_authority(authority) and _RE_PATH.fullmatch(path) is not None
    # path-absolute (not starting with "//"), path-rootless or path-empty
    return _RE_PATH.fullmatch(rest) is not None


def parse_rfc3339_strict(value: str) -> datetime:
    """RFC 3339 ``date-time`` to an aware UTC datetime; ValueError otherwise (leap second allowed)."""
    match = _RE_DATETIME.fullmatch(value)
    if match is None:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    frac = match.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    leap = second == 60
    if leap:
        second = 59
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("time out of range")
    offset = timedelta(0)
    if match.group(9):
        off_h, off_m = int(match.group(10)), int(match.group(11))
        if off_h > 23 or off_m > 59:
            raise ValueError("offset out of range")
        offset = timedelta(hours=off_h, minutes=off_m) * (-1 if match.group(9) == "-" else 1)
    moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC) - offset
    return moment + timedelta(seconds=1) if leap else moment


def to_checksum_address(address: str) -> str:
    """EIP-55 mixed-case checksum encoding of a 20-byte hex address."""
    return _checksum(address.lower().removeprefix("0x"))


# A sign-in computes the same address's checksum twice (the challenge writes it, the connect
# parser checks it): a small LRU of this pure function saves a keccak and a 40-char loop.
@functools.lru_cache(maxsize=4096)
def _checksum(lower: str) -> str:
    digest = keccak256(lower.encode("ascii")).hex()
    # EIP-55: a letter is uppercased when its nibble of the hash is >= 8.
    return "0x" + "".join(c.upper() if d in "89abcdef" else c for c, d in zip(lower, digest, strict=False))


def is_checksum_address(address: str) -> bool:
    return _RE_EVM_ADDRESS.fullmatch(address) is not None and to_checksum_address(address) == address


def is_solana_address(address: str) -> bool:
    if not 32 <= len(address) <= 44 or any(c not in _BASE58_ALPHABET for c in address):
        return False
    try:
        return len(base58.b58decode(address)) == 32
    except ValueError:
        return False


# -- parsing ---------------------------------------------------------------------------------------

_TAGS_REQUIRED = ("URI: ", "Version: ", "Chain ID: ", "Nonce: ", "Issued At: ")


def _header_suffix(account_type: str) -> str:
    return f" wants you to sign in with your {account_type} account:"


def _check_time(name: str, value: str) -> str:
    try:
        parse_rfc3339_strict(value)
    except ValueError:
        raise SiweParseError(f"{name} is not an RFC 3339 date-time.", "message_malformed") from None
    return value


def _parse(text: str, account_type: str) -> dict[str, object]:
    if not isinstance(text, str) or not text:
        raise SiweParseError("The message is empty.")
    if not _RE_PRINTABLE.fullmatch(text):
        raise SiweParseError("The message may contain only printable ASCII and LF line breaks.")
    lines = text.split("\n")
    fields: dict[str, object] = {}

    suffix = _header_suffix(account_type)
    header = lines[0]
    if not header.endswith(suffix):
        raise SiweParseError(f"The first line must end with '{suffix.strip()}'.")
    origin = header[: -len(suffix)]
    if "://" in origin:
        scheme, domain = origin.split("://", 1)
        if not _RE_SCHEME.fullmatch(scheme):
            raise SiweParseError("The scheme is not an RFC 3986 scheme.")
        fields["scheme"] = scheme
    else:
        domain = origin
    if not valid_authority(domain):
        raise SiweParseError("The domain is not an RFC 3986 authority.")
    fields["domain"] = domain

    if len(lines) < 3:
        raise SiweParseError("The message is truncated.")
    address = lines[1]
    if account_type == "Ethereum":
        if not _RE_EVM_ADDRESS.fullmatch(address):
            raise SiweParseError("The address is not 0x followed by 40 hex digits.", "address_invalid")
        if to_checksum_address(address) != address:
            raise SiweParseError("The address is not EIP-55 checksummed.", "address_not_checksummed")
    elif not is_solana_address(address):
        raise SiweParseError("The address is not a base58 Solana public key.", "address_invalid")
    fields["address"] = address
    if lines[2] != "":
        raise SiweParseError("A blank line must follow the address.")

    # [ statement LF ] LF — the statement itself may be empty, which gives one more blank line.
    i = 3
    if len(lines) > i + 1 and lines[i] == "" and lines[i + 1].startswith("URI: "):
        i += 1
    elif len(lines) > i + 2 and lines[i + 1] == "" and lines[i + 2].startswith("URI: "):
        statement = lines[i]
        if not _RE_STATEMENT.fullmatch(statement):
            raise SiweParseError("The statement contains characters outside RFC 3986 reserved/unreserved.")
        fields["statement"] = statement
        i += 2
    else:
        raise SiweParseError("Expected an optional statement between blank lines, then 'URI: '.")

    values: list[str] = []
    for tag in _TAGS_REQUIRED:
        if i >= len(lines) or not lines[i].startswith(tag):
            raise SiweParseError(f"Expected '{tag.strip()}' on line {i + 1}.")
        values.append(lines[i][len(tag) :])
        i += 1
    uri, version, chain_id, nonce, issued_at = values
    if not valid_uri(uri):
        raise SiweParseError("The URI is not an RFC 3986 URI.")
    if version != "1":
        raise SiweParseError("Only version 1 is defined.", "version_unsupported")
    if account_type == "Ethereum":
        if not _RE_CHAIN_ID.fullmatch(chain_id):
            raise SiweParseError("The chain id must be decimal digits.")
        fields["chain_id"] = int(chain_id)
    else:
        if not _RE_CAIP2_REFERENCE.fullmatch(chain_id):
            raise SiweParseError("The chain id must be a CAIP-2 reference.")
        fields["chain_id"] = 0
        fields["chain_reference"] = chain_id
    if not _RE_NONCE.fullmatch(nonce):
        raise SiweParseError("The nonce must be at least 8 letters or digits.", "nonce_malformed")
    fields.update(uri=uri, version=version, nonce=nonce, issued_at=_check_time("Issued At", issued_at))

    optional = (
        ("Expiration Time: ", "expiration_time"),
        ("Not Before: ", "not_before"),
        ("Request ID: ", "request_id"),
    )
    for tag, name in optional:
        if i < len(lines) and lines[i].startswith(tag):
            value = lines[i][len(tag) :]
            if name == "request_id":
                if not _RE_PCHARS.fullmatch(value):
                    raise SiweParseError("The request id must be RFC 3986 pchars.")
                fields[name] = value
            else:
                fields[name] = _check_time(tag.strip(": "), value)
            i += 1
    if i < len(lines) and lines[i] == "Resources:":
        i += 1
        resources: list[str] = []
        while i < len(lines):
            line = lines[i]
            if not line.startswith("- ") or not valid_uri(line[2:]):
                raise SiweParseError(f"Resource on line {i + 1} must be '- ' followed by a URI.")
            resources.append(line[2:])
            i += 1
        fields["resources"] = tuple(resources)
    if i != len(lines):
        raise SiweParseError(f"Unexpected text on line {i + 1}.")
    return fields


def parse_siwe_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message, raising :class:`SiweParseError` on any deviation from the ABNF."""
    return SiweMessage(**_parse(text, "Ethereum"))  # type: ignore[arg-type]  # fields built per the dataclass


def parse_solana_message(text: str) -> SolanaSignInMessage:
    """Parse a CAIP-122 message for a Solana account (same grammar, base58 address)."""
    return SolanaSignInMessage(**_parse(text, "Solana"))  # type: ignore[arg-type]  # as above


def build_message(message: SiweMessage) -> str:
    """The exact text a wallet signs; the inverse of the parser."""
    origin = f"{message.scheme}://{message.domain}" if message.scheme else message.domain
    lines = [origin + _header_suffix(message.account_type), message.address, ""]
    if message.statement is not None:
        lines.append(message.statement)
    lines += [
        "",
        f"URI: {message.uri}",
        f"Version: {message.version}",
        f"Chain ID: {message.chain_ref}",
        f"Nonce: {message.nonce}",
        f"Issued At: {message.issued_at}",
    ]
    if message.expiration_time is not None:
        lines.append(f"Expiration Time: {message.expiration_time}")
    if message.not_before is not None:
        lines.append(f"Not Before: {message.not_before}")
    if message.request_id is not None:
        lines.append(f"Request ID: {message.request_id}")
    if message.resources is not None:
        lines.append("Resources:")
        lines += [f"- {r}" for r in message.resources]
    return "\n".join(lines)
