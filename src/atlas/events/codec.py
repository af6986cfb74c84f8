"""How events and ledger entries travel as bus messages: one field ``e`` holding a JSON object.

One field instead of one per attribute cuts the Redis encoding and parsing work per message several
times (it dominated the bridge's CPU profile). ``payload`` is embedded as the canonical JSON text the
outbox and the ledger already hold, so it is neither re-encoded nor escaped twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_quote = json.JSONEncoder(ensure_ascii=False).encode


def encode_event(*, outbox_id: int, event_id: str, event_type: str, actor: str, payload_json: str, occurred_at: str) -> dict[str, str]:
    return {
        "e": (
            f'{{"outbox_id":{int(outbox_id)},"event_id":{_quote(event_id)},"event_type":{_quote(event_type)},'
            f'"actor":{_quote(actor)},"occurred_at":{_quote(occurred_at)},"payload":{payload_json}}}'
        )
    }


def decode(fields: Mapping[str, str]) -> dict[str, Any]:
    """The object a message carries (raises ValueError/KeyError on a malformed message)."""
    value = json.loads(fields["e"])
    if not isinstance(value, dict):
        raise ValueError("message is not a JSON object")
    return value


def encode_entry(*, seq: int, event_id: str, event_type: str, actor: str, payload_json: str, timestamp: str,
                 prev_hash: str, entry_hash: str) -> dict[str, str]:
    return {
        "e": (
            f'{{"seq":{int(seq)},"event_id":{_quote(event_id)},"event_type":{_quote(event_type)},'
            f'"actor":{_quote(actor)},"timestamp":{_quote(timestamp)},"prev_hash":{_quote(prev_hash)},'
            f'"hash":{_quote(entry_hash)},"payload":{payload_json}}}'
        )
    }
