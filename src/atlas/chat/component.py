"""Wires the chat runtime: the hub (local + Redis fan-out), the group-commit writer, the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from atlas.chat.gateway import Gateway
from atlas.chat.hub import Hub
from atlas.chat.writer import ChatWriter
from atlas.runtime import Runtime


@dataclass
class ChatRuntime:
    hub: Hub
    writer: ChatWriter
    gateway: Gateway


class ChatComponent:
    name = "chat"

    def __init__(self) -> None:
        self.chat: ChatRuntime | None = None

    async def start(self, runtime: Runtime) -> None:
        settings = runtime.settings
        hub = Hub(redis_url=settings.redis_url, namespace=settings.redis_namespace)
        # More lanes raise PostgreSQL throughput but, on a CPU-bound process, not latency (measured).
        lanes = 1 if runtime.db.is_sqlite else settings.chat_writer_lanes
        writer = ChatWriter(runtime, hub, lanes=lanes)
        self.chat = ChatRuntime(hub=hub, writer=writer, gateway=Gateway(runtime, hub, writer))
        runtime.services["chat"] = self.chat
        await hub.start()
        await writer.start()

    async def stop(self) -> None:
        if self.chat is None:
            return
        await self.chat.gateway.shutdown()
        await self.chat.writer.stop()
        await self.chat.hub.stop()


def install(runtime: Runtime) -> None:
    runtime.components.append(ChatComponent())


def chat_runtime(runtime: Runtime) -> ChatRuntime:
    chat: ChatRuntime = runtime.services["chat"]
    return chat
