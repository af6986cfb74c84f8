"""Chat metrics (the open-socket gauge is ``atlas.observability.WS_OPEN``)."""

from __future__ import annotations

from prometheus_client import Counter

from atlas.observability import REGISTRY

MESSAGES_STORED = Counter("atlas_chat_messages_stored_total", "Chat messages stored", registry=REGISTRY)
MESSAGES_DELIVERED = Counter(
    "atlas_chat_messages_delivered_total", "Message frames written to device sockets", registry=REGISTRY
)
SLOW_DISCONNECTS = Counter(
    "atlas_chat_slow_consumer_disconnects_total", "Sockets closed because their send queue overflowed",
    registry=REGISTRY,
)
