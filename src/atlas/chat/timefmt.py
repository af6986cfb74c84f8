"""Millisecond timestamps (the chat tables' unit) to and from the contract's RFC 3339 form."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from atlas.kit.clock import rfc3339


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@functools.lru_cache(maxsize=4096)
def ms_to_rfc3339(ms: int) -> str:
    """Cached: a whole batch of messages (and their acks and frames) shares one timestamp."""
    return rfc3339(datetime.fromtimestamp(ms / 1000, UTC))
