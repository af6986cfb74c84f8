"""FastAPI dependencies as ``Annotated`` aliases: the runtime, settings, clock and transactions.

A write transaction is opened per request and committed *before* the response is sent
(``scope="function"``), so an acknowledged write is durable and a failed commit is never reported
as a success.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.config import Settings
from atlas.kit.clock import Clock
from atlas.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: a sync dependency costs every request a threadpool hop.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_app_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def write_transaction(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    async with runtime.db.write() as conn:
        yield conn
    runtime.committed()


async def read_transaction(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    async with runtime.db.read() as conn:
        yield conn


WriteConn = Annotated[AsyncConnection, Depends(write_transaction, scope="function")]
ReadConn = Annotated[AsyncConnection, Depends(read_transaction, scope="function")]
