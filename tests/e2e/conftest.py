"""Browser-test fixtures: a real uvicorn serving the app, and headless Chromium per person."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from e2e_browser import CHROMIUM, CHROMIUM_ARGS, WALLET_JS, FakeWallet, LiveServer, Person
from playwright.sync_api import ConsoleMessage, Playwright, sync_playwright

from atlas.app import create_app
from atlas.config import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    """The whole app on a real uvicorn (HTTP + WebSocket), in a thread with its own event loop."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(public_url=url)
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws_ping_interval=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(url=url, settings=settings)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def playwright(live_server: LiveServer) -> Iterator[Playwright]:
    """Started after the server and its database fixtures: Playwright's sync API leaves an event loop
    marked as running in this thread, which would break the (asyncio.run based) migration fixtures."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser_factory(playwright: Playwright, live_server: LiveServer) -> Iterator[Callable[..., Person]]:
    """Makes people; on teardown fails the test if any page logged a console error."""
    people: list[Person] = []
    dirs: list[str] = []

    def make(
        name: str,
        *,
        wallet: FakeWallet | None = None,
        announce: bool = True,
        inject: bool = True,
        path: str = "/",
        allow_console: tuple[str, ...] = (),
    ) -> Person:
        user_data = tempfile.mkdtemp(prefix=f"atlas-e2e-{name}-")
        dirs.append(user_data)
        context = playwright.chromium.launch_persistent_context(
            user_data,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 800},
            base_url=live_server.url,
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(15_000)
        errors: list[str] = []
        if wallet is not None:
            context.expose_function("__atlasTestWallet", wallet.handle)
            script = WALLET_JS % {
                "is_metamask": "true",
                "announce": "true" if announce else "false",
                "inject": "true" if inject else "false",
            }
            context.add_init_script(script)
        page = context.pages[0] if context.pages else context.new_page()

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error" and not any(allowed in msg.text for allowed in allow_console):
                errors.append(f"{name}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"{name}: uncaught {exc}"))
        if wallet is not None:
            wallet.page = page
        page.goto(path)
        person = Person(name=name, context=context, page=page, wallet=wallet, errors=errors)
        people.append(person)
        return person

    yield make
    errors = [e for p in people for e in p.errors]
    for person in people:
        person.context.close()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    assert not errors, "console errors:\n" + "\n".join(errors)
