"""The committed AsyncAPI document stays in step with the code's envelope and frames."""

from __future__ import annotations

from pathlib import Path

import yaml

from atlas.chat.schemas import AuthFrame, Envelope, Payload, ReceiptFrame, SendFrame, TypingFrame

DOC = yaml.safe_load((Path(__file__).resolve().parents[3] / "asyncapi.yaml").read_text())


def test_document_is_asyncapi_3() -> None:
    assert DOC["asyncapi"].startswith("3.")
    assert DOC["channels"]["socket"]["address"] == "/v1/ws"


def test_envelope_and_client_frames_match_the_models() -> None:
    schemas = DOC["components"]["schemas"]
    for name, model in (
        ("Envelope", Envelope), ("Payload", Payload), ("AuthFrame", AuthFrame), ("SendFrame", SendFrame),
        ("ReceiptFrame", ReceiptFrame), ("TypingFrame", TypingFrame),
    ):
        assert set(schemas[name]["properties"]) == set(model.model_fields), name
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(schemas[name]["required"]) == required, name


def test_every_server_frame_type_is_described() -> None:
    messages = DOC["components"]["messages"]
    described = set()
    for message in messages.values():
        payload = message["payload"]
        if "$ref" in payload:
            payload = DOC["components"]["schemas"][payload["$ref"].rsplit("/", 1)[1]]
        described.add(payload["properties"]["type"]["const"])
    assert {"auth", "send", "receipt", "typing", "ping"} <= described
    assert {"ready", "ack", "message", "receipt", "typing", "conversation", "pong", "error"} <= described
