"""The socket's hand-written fast paths agree with the schema and with ``json.dumps``."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from atlas.chat.envelope import parse_send_frame, prepare_send, prepare_send_parsed
from atlas.chat.gateway import _ack_text, _dumps, _message_text
from atlas.chat.schemas import SendFrame
from atlas.chat.store import StoredMessage


def _frame(devices: int = 1) -> dict[str, Any]:
    return {
        "type": "send",
        "conversation_id": str(uuid.uuid4()).upper(),
        "envelope": {
            "client_msg_id": str(uuid.uuid4()),
            "sender_device": str(uuid.uuid4()).upper(),
            "payloads": [
                {"device_id": str(uuid.uuid4()), "kind": "prekey" if i else "message", "body": base64.b64encode(b"x" * (i + 5)).decode()}
                for i in range(devices)
            ],
        },
    }


@pytest.mark.parametrize("devices", [1, 3])
def test_a_well_formed_send_frame_prepares_exactly_as_through_the_schema(devices: int) -> None:
    frame = _frame(devices)
    parsed = parse_send_frame(frame)
    assert parsed is not None
    model = SendFrame.model_validate(frame)
    assert parsed[0] == model.conversation_id
    fast = prepare_send_parsed(parsed[0], "w", parsed, max_bytes=1000, max_devices=5)
    slow = prepare_send(model.conversation_id, "w", model.envelope, max_bytes=1000, max_devices=5)
    assert fast == slow


def _mutations() -> list[Any]:
    def set_(path: tuple[Any, ...], value: Any) -> Any:
        def apply(f: dict[str, Any]) -> None:
            target: Any = f
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        return apply

    def drop(path: tuple[Any, ...]) -> Any:
        def apply(f: dict[str, Any]) -> None:
            target: Any = f
            for key in path[:-1]:
                target = target[key]
            del target[path[-1]]
        return apply

    return [
        set_(("extra",), 1),
        set_(("conversation_id",), "not-a-uuid"),
        set_(("conversation_id",), str(uuid.uuid4()) + "\n"),
        set_(("conversation_id",), 5),
        set_(("envelope",), []),
        set_(("envelope", "extra"), 1),
        drop(("envelope", "client_msg_id")),
        set_(("envelope", "sender_device"), None),
        set_(("envelope", "payloads"), []),
        set_(("envelope", "payloads"), {}),
        set_(("envelope", "payloads", 0, "kind"), "text"),
        set_(("envelope", "payloads", 0, "body"), 12),
        set_(("envelope", "payloads", 0, "extra"), 1),
        drop(("envelope", "payloads", 0, "device_id")),
        set_(("envelope", "payloads", 0), "x"),
    ]


@pytest.mark.parametrize("mutate", _mutations())
def test_anything_unusual_is_left_to_the_schema(mutate: Any) -> None:
    frame = copy.deepcopy(_frame())
    mutate(frame)
    assert parse_send_frame(frame) is None
    with pytest.raises(ValidationError):
        SendFrame.model_validate(frame)


def test_prebuilt_frames_are_byte_identical_to_json_dumps() -> None:
    envelope = _frame(2)["envelope"]
    payload = envelope["payloads"][1]
    text = _message_text("c\u00e9\"", 7, "2026-01-01T00:00:00.000Z", "0xabc", envelope, payload)
    expected = {
        "type": "message", "conversation_id": "c\u00e9\"", "seq": 7, "server_ts": "2026-01-01T00:00:00.000Z",
        "sender": "0xabc",
        "envelope": {"client_msg_id": envelope["client_msg_id"], "sender_device": envelope["sender_device"], "payloads": [payload]},
    }
    assert text == _dumps(expected)
    assert json.loads(text) == expected
    for duplicate in (False, True):
        stored = StoredMessage("c", 3, 1_764_000_000_123, "a", "b", "m\\", None, duplicate=duplicate)
        ack = {
            "type": "ack", "client_msg_id": "m\\", "conversation_id": "c", "seq": 3,
            "server_ts": "2025-11-24T16:00:00.123Z", "duplicate": duplicate,
        }
        assert _ack_text(stored) == _dumps(ack)


def test_store_rows_follow_the_tables_column_order() -> None:
    """store_messages builds positional rows for insert_messages: the tables must keep this order."""
    from atlas.chat import repository

    assert repository.MESSAGE_COLUMNS == (
        "conversation_id", "seq", "client_msg_id", "sender", "sender_device", "server_ts_ms", "size",
    )
    assert repository.PAYLOAD_COLUMNS == ("device_id", "conversation_id", "seq", "kind", "body")
