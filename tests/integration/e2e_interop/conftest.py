"""A JavaScript ATLAS E2E v1 peer (web/src/crypto, the browser implementation) as a subprocess.

The peer speaks JSON lines (web/test/interop-peer.mjs). The bundle it imports is built here if
needed (``npm ci`` only when web/node_modules is missing), so this directory runs standalone too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "web"
PEER = WEB / "test" / "interop-peer.mjs"


class JsPeerError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class JsPeer:
    """One JS device in a node process; ``call(op, **args)`` returns the result or raises JsPeerError."""

    Error = JsPeerError  # tests reach the class through the fixture (test modules import by basename)

    def __init__(self) -> None:
        node = shutil.which("node")
        assert node, "node is required for the interop test"
        self.proc = subprocess.Popen(
            [node, str(PEER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=WEB,
        )
        self._id = 0

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin
        assert self.proc.stdout
        self._id += 1
        self.proc.stdin.write(json.dumps({"id": self._id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"JS peer exited: {err}")
        reply = json.loads(line)
        assert reply["id"] == self._id
        if not reply["ok"]:
            raise JsPeerError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def js_bundle() -> Path:
    """Build web/.build/crypto.mjs (install the pinned npm packages first if they are missing)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm, "npm is required for the interop test"
    assert node, "node is required for the interop test"
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True)
    subprocess.run([node, "build.mjs"], cwd=WEB, check=True)
    out = WEB / ".build" / "crypto.mjs"
    assert out.is_file()
    return out


@pytest.fixture
def js_peer(js_bundle: Path) -> Iterator[JsPeer]:
    peer = JsPeer()
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def js_peers(js_bundle: Path) -> Iterator[Callable[[], JsPeer]]:
    """A factory of extra JS peers (one device each), all closed at teardown."""
    peers: list[JsPeer] = []

    def make() -> JsPeer:
        peers.append(JsPeer())
        return peers[-1]

    try:
        yield make
    finally:
        for p in peers:
            p.close()
