"""Keccak-256 (Ethereum's hash, not FIPS SHA3-256) straight from pycryptodome.

``eth_hash.auto`` wraps the same pycryptodome sponge behind a backend lookup and argument checks;
calling ``Crypto.Hash.keccak`` directly drops that layer (every sign-in hashes three or four short
inputs: EIP-55 checksum, EIP-191 digest, public key → address).
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()
