"""Keccak-256 (Ethereum's hash, not FIPS SHA3-256) at a fraction of ``eth_hash``'s per-call cost.

Every sign-in hashes three or four short inputs (EIP-55 checksum, EIP-191 digest, public key →
address). ``eth_hash.auto`` and ``Crypto.Hash.keccak.new`` spend most of their ~10-25 µs per call
on Python-level set-up (argument checks, a cffi state allocated and freed per hash), and each of
their four cffi calls releases the GIL: in the server, a release lets the aiosqlite thread take the
GIL, and the event loop then waits to get it back. Here pycryptodome's own C sponge (the library
``Crypto.Hash.keccak`` loads) is called through ``ctypes.PyDLL``, which keeps the GIL, with one
state per thread that is reset between hashes: ~3-4 µs per hash.

Those functions are pycryptodome internals (the version is pinned in uv.lock): if the library is
not found, or does not hash known vectors like the public API at import, that public
``Crypto.Hash.keccak`` API is used instead.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import threading
from collections.abc import Callable
from pathlib import Path

from Crypto.Hash import keccak as _public

_DIGEST_BYTES = 32
_PADDING = 0x01  # Keccak's original padding (SHA3 uses 0x06)


def _public_keccak256(data: bytes) -> bytes:
    return _public.new(digest_bits=256, data=data).digest()


def _library_path() -> Path:
    folder = Path(_public.__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"_keccak{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("pycryptodome's _keccak library")


def _reusing_state() -> Callable[[bytes], bytes]:
    lib = ctypes.PyDLL(str(_library_path()))  # PyDLL: calls keep the GIL (each is < 1 µs here)
    state_ptr = ctypes.c_void_p
    lib.keccak_init.argtypes = [ctypes.POINTER(state_ptr), ctypes.c_size_t, ctypes.c_ubyte]
    lib.keccak_reset.argtypes = [state_ptr]
    lib.keccak_absorb.argtypes = [state_ptr, ctypes.c_char_p, ctypes.c_size_t]
    lib.keccak_digest.argtypes = [state_ptr, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ubyte]
    lib.keccak_destroy.argtypes = [state_ptr]
    for fn in (lib.keccak_init, lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest, lib.keccak_destroy):
        fn.restype = ctypes.c_int
    reset, absorb, digest, destroy = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest, lib.keccak_destroy

    class _State:
        """One sponge per thread (a hash is several calls; another thread may run in between)."""

        def __init__(self) -> None:
            pointer = state_ptr()
            # capacity = 2 x digest size, 24 rounds: what Crypto.Hash.keccak.new uses for 256 bits.
            if lib.keccak_init(ctypes.byref(pointer), 2 * _DIGEST_BYTES, 24):
                raise ValueError("keccak_init failed")
            self.pointer = pointer.value

        def __del__(self) -> None:
            destroy(self.pointer)

    local = threading.local()

    def keccak256(data: bytes) -> bytes:
        state = getattr(local, "state", None)
        if state is None:
            state = local.state = _State()
        pointer = state.pointer
        out = ctypes.create_string_buffer(_DIGEST_BYTES)
        if reset(pointer) or absorb(pointer, data, len(data)) or digest(pointer, out, _DIGEST_BYTES, _PADDING):
            raise ValueError("keccak failed")
        return out.raw

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
