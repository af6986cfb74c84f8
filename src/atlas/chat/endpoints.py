"""Chat REST endpoints and the WebSocket route. Thin: parse, authorize, call one service, answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Response, WebSocket

from atlas.auth.deps import CurrentSession
from atlas.chat import service
from atlas.chat.component import chat_runtime
from atlas.chat.envelope import prepare_send
from atlas.chat.hub import frame_event
from atlas.chat.schemas import (
    ConversationOut,
    Envelope,
    Inbox,
    MessagesPage,
    ReadMarker,
    ReadOut,
    SendAck,
    StartConversation,
    Uuid,
)
from atlas.chat.service import Fanout
from atlas.chat.store import StoredMessage
from atlas.chat.timefmt import ms_to_rfc3339
from atlas.chat.writer import ReadOp
from atlas.deps import ClockDep, ReadConn, RuntimeDep, SettingsDep, WriteConn

router = APIRouter(prefix="/v1", tags=["chat"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid bearer token"},
    404: {"description": "no such conversation, or the caller is not a member"},
}
DeviceFilter = Annotated[
    Uuid | None, Query(description="Narrow each envelope to this device's own payload.")
]


def _publish_later(background: BackgroundTasks, runtime: Any, fanout: list[Fanout]) -> None:
    if fanout:
        hub = chat_runtime(runtime).hub
        background.add_task(hub.publish, [frame_event(f.wallets, f.frame, skip=f.skip_connection) for f in fanout])


@router.post(
    "/conversations",
    response_model=ConversationOut,
    status_code=201,
    summary="Start (or fetch) the conversation with a peer. Authenticated: the caller's own conversations.",
    description="Idempotent per pair: an existing conversation is returned with 200. A new one is a "
    "`request` until the peer accepts it; new requests are limited per wallet per hour.",
    responses={**_PROBLEMS, 200: {"description": "already existed", "model": ConversationOut}, 429: {"description": "too many new requests"}},
)
async def start_conversation(
    body: StartConversation, session: CurrentSession, conn: WriteConn, clock: ClockDep, settings: SettingsDep,
    runtime: RuntimeDep, response: Response, background: BackgroundTasks,
) -> ConversationOut:
    outcome = await service.start_conversation(
        conn, wallet=session.wallet, peer=body.peer, at=clock.now(), requests_per_hour=settings.chat_requests_per_hour
    )
    if not outcome.created:
        response.status_code = 200
    _publish_later(background, runtime, outcome.fanout)
    return outcome.conversation


@router.get(
    "/conversations",
    response_model=Inbox,
    summary="The caller's inbox by last activity. Authenticated: the caller's own conversations.",
    description="Search `q` matches the peer's wallet or display name (never message text, which only "
    "devices can decrypt). `state` filters, e.g. `request` for the request box.",
    responses=_PROBLEMS,
)
async def list_conversations(
    session: CurrentSession,
    conn: ReadConn,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    state: Literal["request", "accepted", "blocked"] | None = None,
    device_id: DeviceFilter = None,
) -> Inbox:
    return await service.inbox(
        conn, wallet=session.wallet, q=q, cursor=cursor, limit=limit, state=state, device_id=device_id
    )


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    summary="One conversation. Authenticated: members only.",
    responses=_PROBLEMS,
)
async def get_conversation(conversation_id: str, session: CurrentSession, conn: ReadConn) -> ConversationOut:
    return await service.get_one(conn, wallet=session.wallet, conversation_id=conversation_id)


@router.post(
    "/conversations/{conversation_id}/accept",
    response_model=ConversationOut,
    summary="Accept a request (or unblock). Authenticated: the recipient of the request, or who blocked.",
    responses={**_PROBLEMS, 403: {"description": "not allowed for this member"}},
)
async def accept_conversation(
    conversation_id: str, session: CurrentSession, conn: WriteConn, clock: ClockDep, runtime: RuntimeDep,
    background: BackgroundTasks,
) -> ConversationOut:
    outcome = await service.accept(conn, wallet=session.wallet, conversation_id=conversation_id, at=clock.now())
    _publish_later(background, runtime, outcome.fanout)
    return outcome.conversation


@router.post(
    "/conversations/{conversation_id}/block",
    response_model=ConversationOut,
    summary="Block the conversation: nothing more is delivered. Authenticated: members only.",
    responses=_PROBLEMS,
)
async def block_conversation(
    conversation_id: str, session: CurrentSession, conn: WriteConn, clock: ClockDep, runtime: RuntimeDep,
    background: BackgroundTasks,
) -> ConversationOut:
    outcome = await service.block(conn, wallet=session.wallet, conversation_id=conversation_id, at=clock.now())
    _publish_later(background, runtime, outcome.fanout)
    return outcome.conversation


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessagesPage,
    summary="Message history, older pages by `before`. Authenticated: members only.",
    responses=_PROBLEMS,
)
async def list_messages(
    conversation_id: str,
    session: CurrentSession,
    conn: ReadConn,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    device_id: DeviceFilter = None,
) -> MessagesPage:
    return await service.history(
        conn, wallet=session.wallet, conversation_id=conversation_id, before=before, limit=limit, device_id=device_id
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=SendAck,
    status_code=201,
    summary="Send an envelope (CONTRACT §4). Authenticated: members only, from one of the caller's devices.",
    description="Idempotent by `client_msg_id`: a repeat answers 200 with the original seq.",
    responses={
        **_PROBLEMS,
        200: {"description": "duplicate client_msg_id", "model": SendAck},
        403: {"description": "blocked, request not accepted, or not the caller's device"},
        409: {"description": "unknown_device / missing_device: refetch device lists"},
        413: {"description": "envelope too large"},
    },
)
async def send_message(
    conversation_id: str, envelope: Envelope, session: CurrentSession, runtime: RuntimeDep, response: Response
) -> SendAck:
    settings = runtime.settings
    prepared = prepare_send(
        service.conversation_key(conversation_id), session.wallet, envelope,
        max_bytes=settings.chat_max_envelope_bytes, max_devices=settings.chat_max_payload_devices,
    )
    stored: StoredMessage = await chat_runtime(runtime).writer.submit(prepared)
    if stored.duplicate:
        response.status_code = 200
    return SendAck(
        client_msg_id=stored.client_msg_id, conversation_id=stored.conversation_id, seq=stored.seq,
        server_ts=ms_to_rfc3339(stored.server_ts_ms), duplicate=stored.duplicate,
    )


@router.post(
    "/conversations/{conversation_id}/read",
    response_model=ReadOut,
    summary="Raise the caller's private read marker. Authenticated: members only; seen by own devices only.",
    responses=_PROBLEMS,
)
async def mark_read(
    conversation_id: str, body: ReadMarker, session: CurrentSession, runtime: RuntimeDep
) -> ReadOut:
    out, _ = await chat_runtime(runtime).writer.submit(
        ReadOp(wallet=session.wallet, conversation_id=conversation_id, up_to=body.up_to)
    )
    result: ReadOut = out
    return result


@router.websocket("/ws", name="chat_socket")
async def chat_socket(websocket: WebSocket) -> None:
    """CONTRACT §4. First frame ``auth`` within 10 s, else closed (4401)."""
    await chat_runtime(websocket.app.state.runtime).gateway.serve(websocket)
