"""Chat fixtures: real uvicorn server processes on this test's database, and signed-in people with
registered E2E devices. WebSockets need a real server (see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.client.auth import SignedIn, sign_in
from atlas.client.chat import ChatApi, ChatSocket
from atlas.client.e2e.api import register
from atlas.client.e2e.device import Device
from atlas.config import Settings
from atlas.migrate import upgrade_database

SECRET = base64.b64encode(b"s" * 32).decode()
LOG_KEY = base64.b64encode(b"k" * 32).decode()
DEFAULT_REDIS = os.environ.get("ATLAS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", "--factory", "atlas.app:main_app", "--host", "127.0.0.1",
            "--port", str(self.port), "--log-level", "warning", "--ws-ping-interval", "20",
        ]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        async with httpx.AsyncClient(base_url=self.url) as http:
            deadline = asyncio.get_running_loop().time() + 90  # imports alone take seconds on a busy box
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing (the crash case)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def deployment_env(database_url: str, redis_url: str | None, namespace: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(
        ATLAS_ENV="dev",
        ATLAS_DATABASE_URL=database_url,
        ATLAS_REDIS_URL=redis_url or DEFAULT_REDIS,
        ATLAS_REDIS_NAMESPACE=namespace,
        ATLAS_SECRET_KEY=SECRET,
        ATLAS_LOG_KEY=LOG_KEY,
        ATLAS_PUBLIC_URL="http://127.0.0.1:8000",
        ATLAS_RATE_AUTH="10000/minute",
        ATLAS_LOG_LEVEL="WARNING",
        # Short, so that the test of the auth deadline does not wait the contract's 10 s.
        ATLAS_CHAT_AUTH_TIMEOUT_SECONDS="1",
        # Short, so that the test of a signed-out socket being closed does not wait the default 5 s.
        ATLAS_CHAT_SESSION_CHECK_SECONDS="0.5",
    )
    return env


@pytest.fixture
def server_env(settings: Settings) -> dict[str, str]:
    return deployment_env(settings.resolved_database_url, settings.redis_url, settings.redis_namespace)


@pytest.fixture(scope="module")
async def shared_server(template_database: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """One server (and database) for a whole module whose tests use disjoint accounts: server start-up
    dominates these tests' time on a busy 2-core machine."""
    tmp = tmp_path_factory.mktemp("chat-shared")
    backend = os.environ.get("ATLAS_TEST_BACKEND", "embedded")
    pg_name = None
    pg_admin = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    if backend == "real":
        import asyncpg

        pg_name = f"atlas_chat_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(pg_admin)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{pg_name}"
        await asyncio.to_thread(upgrade_database, url)
        redis_url: str | None = DEFAULT_REDIS
    else:
        shutil.copyfile(template_database, tmp / "atlas.db")
        url, redis_url = f"sqlite+aiosqlite:///{tmp / 'atlas.db'}", None
    env = {**deployment_env(url, redis_url, f"atlas-chat-{uuid.uuid4().hex[:10]}"), "ATLAS_DATA_DIR": str(tmp / "data")}
    server = Server(env=env, port=free_port(), log=tmp / "server.log")
    await server.start()
    yield server
    server.stop()
    if pg_name is not None:
        import asyncpg

        conn = await asyncpg.connect(pg_admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
async def spawn(server_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start another server process of the same deployment (own data dir, shared DB/Redis/keys)."""
    servers: list[Server] = []

    async def start(count: int = 1, **extra_env: str) -> Any:
        batch = []
        for _ in range(count):
            n = len(servers)
            env = {**server_env, **extra_env, "ATLAS_DATA_DIR": str(tmp_path / f"node{n}")}
            server = Server(env=env, port=free_port(), log=tmp_path / f"node{n}.log")
            servers.append(server)
            batch.append(server)
        await asyncio.gather(*(s.start() for s in batch))
        return batch[0] if count == 1 else batch

    yield start
    for server in servers:
        server.stop()


@dataclass
class Person:
    signed: SignedIn
    http: httpx.AsyncClient
    api: ChatApi
    devices: list[Device]
    sockets: list[ChatSocket] = field(default_factory=list)

    @property
    def wallet(self) -> str:
        return self.signed.wallet

    @property
    def token(self) -> str:
        return self.signed.access_token

    async def connect(self, url: str, device: int = 0, **kwargs: Any) -> ChatSocket:
        sock = await ChatSocket.connect(url, self.token, self.devices[device].device_id, **kwargs)
        self.sockets.append(sock)
        return sock


@pytest.fixture
async def people_on() -> AsyncIterator[Callable[[Server], Callable[..., Any]]]:
    """``people_on(server)`` → ``await make(n_devices)``: a signed-in Person with registered devices."""
    made: list[Person] = []

    def on(server: Server) -> Callable[..., Any]:
        async def make(n_devices: int = 1) -> Person:
            http = httpx.AsyncClient(base_url=server.url, timeout=30)
            signed = await sign_in(http)
            devices = []
            for _ in range(n_devices):
                device = Device.generate(signed.wallet)
                await register(http, device, signed.account, signed.headers)
                devices.append(device)
            person = Person(signed=signed, http=http, api=ChatApi(http, signed.headers), devices=devices)
            made.append(person)
            return person

        return make

    yield on
    for person in made:
        for sock in person.sockets:
            await sock.close()
        await person.http.aclose()


@pytest.fixture
def people(server: Server, people_on: Callable[[Server], Callable[..., Any]]) -> Callable[..., Any]:
    return people_on(server)
