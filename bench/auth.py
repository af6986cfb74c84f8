"""Auth benchmark: signature verifications/s and complete sign-ins/s (challenge + connect) on SQLite.

Rates are reported both per wall-clock second and per CPU second of the serving process (the
latter is what one dedicated core sustains, and stays meaningful on a busy machine).

    .venv/bin/python bench/auth.py [--quick] [--mode inprocess|server]

``inprocess`` drives the ASGI app through httpx in this process (app, client and signing share one
core: a lower bound). ``server`` runs one uvicorn worker in a subprocess and drives it over loopback
from this process (the worker has a core to itself). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import coincurve
import httpx
from eth_hash.auto import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _rawhttp import RawHttp  # noqa: E402 - bench/ is this script's directory

from atlas.auth.signatures import eip191_hash, recover_eoa  # noqa: E402 - after sys.path setup
from atlas.auth.siwe import to_checksum_address  # noqa: E402
from atlas.auth.verify import verify_sign_in  # noqa: E402
from atlas.config import Settings  # noqa: E402


class FastSigner:
    """personal_sign with libsecp256k1 directly, so the client side costs little CPU."""

    def __init__(self) -> None:
        self.key = coincurve.PrivateKey()
        public = self.key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address("0x" + keccak(public)[-20:].hex())

    def sign(self, text: str) -> str:
        sig = self.key.sign_recoverable(eip191_hash(text.encode()), hasher=None)
        return "0x" + sig[:64].hex() + f"{sig[64] + 27:02x}"


def bench_verify(n: int, settings: Settings) -> dict[str, float]:
    from datetime import UTC, datetime

    from atlas.auth.service import resolve_chain  # noqa: F401 - imported for parity with the server path
    from atlas.auth.siwe import SiweMessage
    from atlas.auth.verify import STATEMENT

    now = datetime.now(UTC)
    items = []
    for i in range(n):
        signer = FastSigner()
        message = SiweMessage(
            scheme=settings.public_scheme,
            domain=settings.public_authority,
            address=signer.address,
            statement=STATEMENT,
            uri=settings.public_url,
            version="1",
            chain_id=1,
            nonce=f"{i:016d}abcdef",
            issued_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ).to_text()
        items.append((message, signer.sign(message), signer.address.lower()))
    # CPU time of this (single-threaded) process: a per-core rate, robust to other load on the box.
    start = time.process_time()
    for text, sig, addr in items:
        assert recover_eoa(eip191_hash(text.encode()), bytes.fromhex(sig[2:])) == addr
    raw = n / (time.process_time() - start)

    async def full() -> float:
        t0 = time.process_time()
        for text, sig, _ in items:
            await verify_sign_in(text, sig, settings=settings, now=now, rpc=None)
        return n / (time.process_time() - t0)

    return {
        "signature_verifications_per_cpu_s": round(raw),
        "message_verifications_per_cpu_s": round(asyncio.run(full())),
    }


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sign_ins(
    post: list[Any], total: int, server_pid: int | None = None
) -> dict[str, float]:
    """``total`` sign-ins through ``len(post)`` concurrent workers; ``post[i](path, body)`` →
    ``(status, json)`` is worker i's own connection."""
    signers = [FastSigner() for _ in range(total)]
    queue: asyncio.Queue[FastSigner] = asyncio.Queue()
    for s in signers:
        queue.put_nowait(s)
    latencies: list[float] = []
    failures = 0

    async def worker(call: Any) -> None:
        nonlocal failures
        while not queue.empty():
            signer = queue.get_nowait()
            t0 = time.perf_counter()
            _, ch = await call("/v1/auth/challenge", {"address": signer.address})
            message = ch["message"]
            status, _ = await call("/v1/auth/connect-wallet", {"message": message, "signature": signer.sign(message)})
            if status != 200:
                failures += 1
            latencies.append(time.perf_counter() - t0)

    pid = server_pid or os.getpid()
    cpu0 = _cpu_seconds(pid)
    start = time.perf_counter()
    await asyncio.gather(*(worker(call) for call in post))
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds(pid) - cpu0
    latencies.sort()
    return {
        "sign_ins_per_server_cpu_s": round(total / cpu, 1) if cpu else 0.0,
        "server_cpu_s": round(cpu, 2),
        "server_busy": round(cpu / elapsed, 2),
        "sign_ins": total,
        "failures": failures,
        "sign_ins_per_s": round(total / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def _metric_values(text: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]


async def _ledger_caught_up(http: RawHttp, entries: int) -> None:
    """Until the ledger holds ``entries`` appended events and every projection has applied all of them
    (USER_REGISTERED and LOGIN per first sign-in)."""
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        _, text = await http.get_text("/metrics")
        appended = sum(_metric_values(text, "atlas_events_ledger_appended_total"))
        projected = _metric_values(text, "atlas_events_projected_total{")
        if appended >= entries and projected and min(projected) >= appended:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the ledger did not catch up")


def _httpx_post(http: httpx.AsyncClient) -> Any:
    async def call(path: str, body: Any) -> tuple[int, Any]:
        resp = await http.post(path, json=body)
        return resp.status_code, resp.json()

    return call


def _settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'atlas.db'}",
        rate_auth="1000000/minute",
        log_level="WARNING",
    )


async def bench_inprocess(total: int, concurrency: int, data_dir: Path) -> dict[str, Any]:
    from atlas.app import create_app
    from atlas.migrate import upgrade_database
    from atlas.observability import configure_logging

    settings = _settings(data_dir)
    await asyncio.to_thread(upgrade_database, settings.resolved_database_url)
    configure_logging("WARNING")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            post = [_httpx_post(http)] * concurrency
            await _sign_ins(post, 50)  # warm-up
            batcher = app.state.runtime.services["auth"].writer._batcher
            batches0, items0 = batcher.batches, batcher.items
            result = await _sign_ins(post, total)
            result["mean_write_batch"] = round((batcher.items - items0) / max(1, batcher.batches - batches0), 1)
            return result


async def bench_server(total: int, concurrency: int, data_dir: Path) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "ATLAS_DATA_DIR": str(data_dir),
        "ATLAS_RATE_AUTH": "1000000/minute",
        "ATLAS_PUBLIC_URL": "http://127.0.0.1:8000",
        "ATLAS_LOG_LEVEL": "WARNING",
    }
    atlas = str(Path(sys.executable).parent / "atlas")
    proc = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [atlas, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        # The timed load goes through RawHttp: httpx would saturate this process's core first.
        clients = [await RawHttp.connect("127.0.0.1", port) for _ in range(concurrency)]
        try:
            post = [c.post_json for c in clients]
            await _sign_ins(post, 50, proc.pid)
            await _ledger_caught_up(clients[0], 50 * 2)
            result = await _sign_ins(post, total, proc.pid)
            # The ledger and projections trail the sign-ins a little: count their work too.
            cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
            await _ledger_caught_up(clients[0], (50 + total) * 2)
            catch_up = time.perf_counter() - t0
            cpu = result["server_cpu_s"] + _cpu_seconds(proc.pid) - cpu0
            elapsed = total / result["sign_ins_per_s"] + catch_up
            result["ledger_catch_up_s"] = round(catch_up, 2)
            result["sign_ins_per_s_ledger_included"] = round(total / elapsed, 1)
            result["sign_ins_per_server_cpu_s_ledger_included"] = round(total / cpu, 1)
            return result
        finally:
            for c in clients:
                await c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mode", choices=["inprocess", "server"], default="inprocess")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    n_verify = 500 if args.quick else 5000
    total = 200 if args.quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        result: dict[str, Any] = {"bench": "auth", "mode": args.mode, "concurrency": args.concurrency}
        result.update(bench_verify(n_verify, _settings(data_dir)))
        runner = bench_inprocess if args.mode == "inprocess" else bench_server
        result.update(asyncio.run(runner(total, args.concurrency, data_dir)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
