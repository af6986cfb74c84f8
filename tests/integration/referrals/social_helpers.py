"""Helpers shared by the social domain's integration tests (users, referrals, points, coherence)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from atlas.config import Settings
from atlas.kit.canonical import canonical_bytes

ATLAS = str(Path(sys.executable).with_name("atlas"))


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll until ``check`` returns something truthy; returns it (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def activate_via_chat(app: Any, wallet: str) -> None:
    """What chat does on each stored message in an accepted conversation (service layer)."""
    from atlas.referrals.service import note_message_sent

    runtime = app.state.runtime
    async with runtime.db.write() as conn:
        await note_message_sent(conn, sender=wallet, conversation_accepted=True, at=runtime.clock.now())
    runtime.committed()


async def ledger_entries(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, int] = {"limit": 1000}  # no ``after``: from seq 0
    while True:
        resp = await http.get("/v1/genesis/entries", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()["entries"]
        if not page:
            return out
        out += page
        params["after"] = page[-1]["seq"]


async def projection_caught_up(app: Any, http: httpx.AsyncClient) -> bool:
    """True once every outbox event reached the ledger and the trust projection applied all of it."""
    from atlas.events import repository as events_repo

    async with app.state.runtime.db.read() as conn:
        unpublished, undelivered = await events_repo.outbox_depth(conn)
    if unpublished or undelivered:
        return False
    entries = await ledger_entries(http)
    async with app.state.runtime.db.read() as conn:
        offset = await events_repo.read_offset(conn, "trust")
    return bool(entries and offset == entries[-1]["seq"])


async def replay_cli(settings: Settings, *args: str) -> tuple[int, str]:
    """``atlas replay`` in-process (the real typer command, in a worker thread): (exit code, output)."""
    from typer.testing import CliRunner

    from atlas.cli import app as cli_app
    from atlas.config import get_settings

    env = {
        "ATLAS_DATABASE_URL": settings.resolved_database_url,
        "ATLAS_DATA_DIR": str(settings.data_dir),
        "ATLAS_PUBLIC_URL": settings.public_url,
        "ATLAS_REDIS_URL": "",
    }

    def invoke() -> tuple[int, str]:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli_app, ["replay", *args], env=env)
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.output

    return await asyncio.to_thread(invoke)


def run_replay(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "ATLAS_DATABASE_URL": settings.resolved_database_url,
            "ATLAS_DATA_DIR": str(settings.data_dir),
            "ATLAS_PUBLIC_URL": settings.public_url,
        }
    )
    env.pop("ATLAS_REDIS_URL", None)
    return subprocess.run([ATLAS, "replay", *args], capture_output=True, text=True, env=env, timeout=120, check=False)


# -- RFC 9162 inclusion proof, verified independently of the ledger's own code ----------------------

def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


async def prove_entry(http: httpx.AsyncClient, seq: int) -> None:
    """Fetch entry ``seq`` and check its inclusion in the latest signed checkpoint."""
    async def checkpoint() -> tuple[int, bytes] | None:
        text = (await http.get("/v1/genesis/checkpoint")).text
        lines = text.split("\n")
        size, root = int(lines[1]), base64.b64decode(lines[2])
        return (size, root) if size > seq else None

    size, root = await wait_for(checkpoint, timeout=15)
    entry = (await http.get(f"/v1/genesis/entries/{seq}")).json()
    body = {k: v for k, v in entry.items() if k != "hash"}
    leaf = hashlib.sha256(b"\x00" + canonical_bytes(body)).digest()
    proof = (await http.get("/v1/genesis/proof/inclusion", params={"seq": seq, "tree_size": size})).json()
    assert proof["leaf_hash"] == leaf.hex()
    assert verify_inclusion(seq, size, leaf, [bytes.fromhex(p) for p in proof["path"]], root)
