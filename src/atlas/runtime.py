"""The process-wide objects one app instance shares: settings, secrets, database, clock, bus.

Domains that run in the background (the ledger writer, the outbox relay, the chat hub, …) register
a :class:`Component`; the app's lifespan starts them in order and stops them in reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from atlas.config import Secrets, Settings
from atlas.db import Database
from atlas.kit.clock import Clock


class Component(Protocol):
    name: str

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    secrets: Secrets
    db: Database
    clock: Clock
    # Domain singletons keyed by name (e.g. "ledger", "bus", "hub"); typed accessors live in each
    # domain's deps so that this module stays domain-free.
    services: dict[str, Any] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    # Health probes beyond the database: name -> coroutine raising on failure.
    probes: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # Called after every committed write transaction (e.g. to wake the outbox relay at once).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def committed(self) -> None:
        for hook in self.after_commit:
            hook()

    def get(self, name: str) -> Any:
        return self.services[name]

    async def start(self) -> None:
        for component in self.components:
            await component.start(self)

    async def stop(self) -> None:
        for component in reversed(self.components):
            await component.stop()
