"""The checkpoint digest: what the browser and the verifier compare every K frames."""

from __future__ import annotations

import hashlib

__all__ = ["RAM_SIZE", "ram_digest"]

RAM_SIZE = 128
"""Bytes of Atari 2600 RAM (the RIOT's 128 bytes)."""


def ram_digest(ram: bytes) -> str:
    """The first 8 bytes of SHA-256 over the 128-byte RAM, as 16 lowercase hex digits.

    The WebAssembly shim computes the same value (wasm/shim.cpp).

    >>> ram_digest(bytes(128))
    '38723a2e5e8a17aa'
    """
    if len(ram) != RAM_SIZE:
        raise ValueError(f"RAM must be {RAM_SIZE} bytes, got {len(ram)}")
    return hashlib.sha256(ram).hexdigest()[:16]
