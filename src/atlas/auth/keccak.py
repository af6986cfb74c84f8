"""Keccak-256 (Ethereum's hash, not FIPS SHA3-256) at a fraction of ``eth_hash``'s per-call cost.

Every sign-in hashes three or four short inputs (EIP-55 checksum, EIP-191 digest, public key →
address). ``eth_hash.auto`` and ``Crypto.Hash.keccak.new`` spend most of their ~10-25 µs per call
on Python-level object set-up (argument checks, a cffi state allocated and freed per hash); the C
sponge itself takes well under a microsecond for these sizes. Here one state per thread is reset
and reused through pycryptodome's own C functions, the same code ``Crypto.Hash.keccak`` runs.

Those functions are pycryptodome internals (pinned in uv.lock): if they are not there, or do not
hash a known vector correctly at import, the public ``Crypto.Hash.keccak`` API is used instead.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from Crypto.Hash import keccak as _public

_DIGEST_BYTES = 32
_PADDING = 0x01  # Keccak's original padding (SHA3 uses 0x06)


def _public_keccak256(data: bytes) -> bytes:
    return _public.new(digest_bits=256, data=data).digest()


def _reusing_state() -> Callable[[bytes], bytes]:
    # Internals (untyped in pycryptodome's stubs): looked up dynamically, verified by _pick().
    lib: Any = getattr(_public, "_raw_keccak_lib")  # noqa: B009 - private name, kept out of mypy's sight
    raw_api: Any = importlib.import_module("Crypto.Util._raw_api")
    c_size_t, c_ubyte = raw_api.c_size_t, raw_api.c_ubyte
    create_string_buffer, get_raw_buffer = raw_api.create_string_buffer, raw_api.get_raw_buffer

    local = threading.local()

    def state() -> Any:
        pointer = getattr(local, "pointer", None)
        if pointer is None:
            raw = raw_api.VoidPointer()
            # capacity = 2 x digest size (512 bits), 24 rounds: what Crypto.Hash.keccak.new uses for 256 bits.
            if lib.keccak_init(raw.address_of(), c_size_t(2 * _DIGEST_BYTES), c_ubyte(24)):
                raise ValueError("keccak_init failed")
            local.owner = raw_api.SmartPointer(raw.get(), lib.keccak_destroy)  # frees it with the thread
            pointer = local.pointer = local.owner.get()
        return pointer

    def keccak256(data: bytes) -> bytes:
        pointer = state()
        out = create_string_buffer(_DIGEST_BYTES)
        if (
            lib.keccak_reset(pointer)
            or lib.keccak_absorb(pointer, data, c_size_t(len(data)))
            or lib.keccak_digest(pointer, out, c_size_t(_DIGEST_BYTES), c_ubyte(_PADDING))
        ):
            raise ValueError("keccak failed")
        return bytes(get_raw_buffer(out))

    return keccak256


def _pick() -> Callable[[bytes], bytes]:
    try:
        fast = _reusing_state()
        for sample in (b"", b"abc", bytes(range(256)) * 3):
            if fast(sample) != _public_keccak256(sample) or fast(sample) != _public_keccak256(sample):
                return _public_keccak256
    except Exception:  # internals moved in another pycryptodome: the public API is always right
        return _public_keccak256
    return fast


keccak256: Callable[[bytes], bytes] = _pick()
