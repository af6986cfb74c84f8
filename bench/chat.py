"""Chat gateway benchmark: one server process, WebSocket load from a separate process, loopback only.

Measures (prints one JSON object on the last line):
- send-to-deliver latency p50/p99 at a fixed 1,000 messages/s,
- the highest sustained delivered messages/s (senders pipeline with a bounded window),
- server RSS for 10,000 idle authenticated connections.

Usage: .venv/bin/python bench/chat.py [--quick] [--backend sqlite|real] [--no-idle]
(``--no-idle`` skips the idle-connections phase: for comparing CPU per message quickly;
``BENCH_ATLAS_<NAME>=value`` in the environment sets ``ATLAS_<NAME>`` for the server.)
Bounded: every phase has a fixed duration; the server and load generator are killed at the end.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("ATLAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("ATLAS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (clock ticks → seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mark(name: str, **extra: Any) -> None:
    print(json.dumps({"mark": name, **extra}), flush=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --------------------------------------------------------------------------------------------- setup


async def prepare_database(backend: str, workdir: Path) -> tuple[str, str | None, str | None]:
    """(database_url, redis_url, pg database name to drop)."""
    from atlas.migrate import upgrade_database

    if backend == "real":
        import asyncpg

        name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        await asyncio.to_thread(upgrade_database, url)
        return url, REDIS, name
    url = f"sqlite+aiosqlite:///{workdir / 'atlas.db'}"
    await asyncio.to_thread(upgrade_database, url)
    return url, None, None


async def drop_database(name: str | None) -> None:
    if name:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def start_server(database_url: str, redis_url: str | None, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    # BENCH_ATLAS_X=v sets ATLAS_X=v for the server only (to compare settings without editing this file).
    env.update({k[len("BENCH_"):]: v for k, v in os.environ.items() if k.startswith("BENCH_ATLAS_")})
    env.update(
        ATLAS_DATABASE_URL=database_url,
        ATLAS_DATA_DIR=str(workdir / "data"),
        ATLAS_SECRET_KEY=base64.b64encode(os.urandom(32)).decode(),
        ATLAS_LOG_KEY=base64.b64encode(os.urandom(32)).decode(),
        ATLAS_RATE_AUTH="100000/minute",
        ATLAS_LOG_LEVEL="WARNING",
        ATLAS_CHAT_REQUESTS_PER_HOUR="100000",
        ATLAS_REDIS_NAMESPACE=f"bench-{uuid.uuid4().hex[:8]}",
    )
    if redis_url:
        env["ATLAS_REDIS_URL"] = redis_url
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "atlas.app:main_app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--backlog", "4096",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "server.log").open("wb"))


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(400):
            if proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def make_pairs(url: str, pairs: int) -> list[dict[str, Any]]:
    """Accounts with one registered device each, paired in accepted conversations."""
    import httpx

    from atlas.client.auth import sign_in
    from atlas.client.chat import ChatApi
    from atlas.client.e2e.api import register
    from atlas.client.e2e.device import Device

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def person() -> dict[str, Any]:
            signed = await sign_in(http)
            device = Device.generate(signed.wallet)
            await register(http, device, signed.account, signed.headers, one_time_prekeys=1)
            return {"wallet": signed.wallet, "token": signed.access_token, "device": device.device_id, "headers": signed.headers}

        out = []
        for _ in range(pairs):
            a, b = await person(), await person()
            cid = (await ChatApi(http, a["headers"]).start(b["wallet"]))["id"]
            await ChatApi(http, b["headers"]).accept(cid)
            out.append({"cid": cid, "a": a, "b": b})
        return out


# ----------------------------------------------------------------------------------------- load gen


async def loadgen(config: dict[str, Any]) -> dict[str, Any]:
    from atlas.client.chat import ChatSocket

    url = config["url"]
    pairs = config["pairs"]
    pad = b"\x00" * 120
    senders = [await ChatSocket.connect(url, p["a"]["token"], p["a"]["device"], max_size=None) for p in pairs]
    receivers = [await ChatSocket.connect(url, p["b"]["token"], p["b"]["device"], max_size=None) for p in pairs]
    latencies: list[float] = []
    delivered = 0
    recording = False

    async def receive(idx: int, sock: ChatSocket) -> None:
        nonlocal delivered
        cid = pairs[idx]["cid"]
        last_receipt = 0.0
        while True:
            frame = await sock.next("message", timeout=3600)
            body = base64.b64decode(frame["envelope"]["payloads"][0]["body"])
            sent_at = struct.unpack(">d", body[:8])[0]
            now = time.perf_counter()
            if recording:
                latencies.append(now - sent_at)
            delivered += 1
            if now - last_receipt > 0.1:  # a real client confirms storage; coalesced per 100 ms
                last_receipt = now
                await sock.receipt(cid, "delivered", frame["seq"])

    def envelope(idx: int) -> dict[str, Any]:
        body = struct.pack(">d", time.perf_counter()) + pad
        return {
            "client_msg_id": str(uuid.uuid4()),
            "sender_device": pairs[idx]["a"]["device"],
            "payloads": [{"device_id": pairs[idx]["b"]["device"], "kind": "message", "body": base64.b64encode(body).decode()}],
        }

    tasks = [asyncio.create_task(receive(i, s)) for i, s in enumerate(receivers)]
    acks: list[asyncio.Future[Any]] = []

    async def fixed_rate(rate: int, seconds: float) -> int:
        interval = 1.0 / rate
        start = time.perf_counter()
        n = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed / interval) + 1
            while n < due:
                i = n % len(senders)
                acks.append(await senders[i].submit(pairs[i]["cid"], envelope(i)))
                n += 1
            await asyncio.sleep(interval)
        return n

    # Phase 1: latency at a fixed rate (after a short warm-up).
    await fixed_rate(config["rate"], 1.0)
    await asyncio.sleep(0.5)
    recording = True
    mark("rate_start", delivered=delivered)
    sent = await fixed_rate(config["rate"], config["seconds"])
    mark("rate_end", delivered=delivered)
    await asyncio.sleep(1.0)
    recording = False
    lat = list(latencies)
    result: dict[str, Any] = {
        "latency_rate_msgs_per_s": config["rate"],
        "latency_sent": sent,
        "latency_received": len(lat),
        "latency_p50_ms": round(pct(lat, 50) * 1000, 2),
        "latency_p99_ms": round(pct(lat, 99) * 1000, 2),
    }

    # Phase 2: saturation — each sender keeps a window of unacknowledged sends.
    window = config["window"]
    stop_at = time.perf_counter() + config["seconds"]
    before = delivered

    async def pump(i: int) -> None:
        inflight: list[asyncio.Future[Any]] = []
        while time.perf_counter() < stop_at:
            inflight.append(await senders[i].submit(pairs[i]["cid"], envelope(i)))
            if len(inflight) >= window:
                await inflight.pop(0)
        for f in inflight:
            await f

    t0 = time.perf_counter()
    mark("sat_start", delivered=delivered)
    await asyncio.gather(*(pump(i) for i in range(len(senders))))
    t1 = time.perf_counter()
    await asyncio.sleep(0.5)
    mark("sat_end", delivered=delivered)
    result["max_delivered_msgs_per_s"] = round((delivered - before) / (t1 - t0 + 0.5))
    for t in tasks:
        t.cancel()
    for s in senders + receivers:
        await s.close()

    # Phase 3: idle authenticated connections.
    n_idle = config["idle"]
    sem = asyncio.Semaphore(200)
    idle: list[Any] = []

    async def open_one(k: int) -> None:
        p = pairs[k % len(pairs)]["a"]
        async with sem:
            idle.append(await ChatSocket.connect(url, p["token"], p["device"], timeout=60))

    t0 = time.perf_counter()
    await asyncio.gather(*(open_one(k) for k in range(n_idle)))
    result["idle_connections"] = len(idle)
    result["idle_connect_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({"idle_ready": True, **result}), flush=True)
    # Hold them until the parent has measured RSS.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return result


def run_loadgen() -> None:
    raise_nofile()
    import uvloop

    config = json.loads(sys.stdin.readline())
    uvloop.run(loadgen(config))


# --------------------------------------------------------------------------------------------- main


async def main(quick: bool, backend: str, no_idle: bool = False) -> dict[str, Any]:
    raise_nofile()
    load_at_start = os.getloadavg()[0]
    sys.path.insert(0, str(ROOT / "src"))
    workdir = Path(tempfile.mkdtemp(prefix="atlas-bench-chat-"))
    database_url, redis_url, pg_name = await prepare_database(backend, workdir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(database_url, redis_url, workdir, port)
    gen: subprocess.Popen[str] | None = None
    try:
        await wait_ready(url, server)
        pairs = await make_pairs(url, 10 if quick else 50)
        config = {
            "url": url,
            "pairs": [{"cid": p["cid"], "a": {k: p["a"][k] for k in ("token", "device")}, "b": {k: p["b"][k] for k in ("token", "device")}} for p in pairs],
            "rate": 1000,
            "seconds": 3.0 if quick else 10.0,
            "window": 20,
            "idle": 0 if no_idle else 1000 if quick else 10000,
        }
        rss_before = rss_mib(server.pid)
        gen = subprocess.Popen(
            [sys.executable, __file__, "--loadgen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert gen.stdin is not None
        assert gen.stdout is not None
        gen.stdin.write(json.dumps(config) + "\n")
        gen.stdin.flush()
        cpu: dict[str, tuple[float, int]] = {}
        while True:
            line = await asyncio.wait_for(asyncio.to_thread(gen.stdout.readline), timeout=600)
            if not line:
                raise RuntimeError("load generator exited")
            message = json.loads(line)
            if "mark" in message:
                cpu[message["mark"]] = (cpu_seconds(server.pid), message["delivered"])
                print(json.dumps({**message, "server_pid": server.pid}), file=sys.stderr, flush=True)
                continue
            result: dict[str, Any] = message
            break
        result.pop("idle_ready", None)
        # Server CPU per delivered message: independent of how busy the rest of the machine is.
        for phase in ("rate", "sat"):
            (c0, d0), (c1, d1) = cpu[f"{phase}_start"], cpu[f"{phase}_end"]
            if d1 > d0:
                result[f"server_cpu_us_per_message_{phase}"] = round((c1 - c0) / (d1 - d0) * 1e6, 1)
        result["load_average_1m_at_start"] = load_at_start
        await asyncio.sleep(2.0)
        result["server_rss_mib_before"] = round(rss_before, 1)
        result["server_rss_mib_idle_connections"] = round(rss_mib(server.pid), 1)
        gen.stdin.write("done\n")
        gen.stdin.flush()
        result["backend"] = "PostgreSQL + Redis" if backend == "real" else "SQLite"
        result["quick"] = quick
        return result
    finally:
        if gen is not None and gen.poll() is None:
            gen.kill()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        await drop_database(pg_name)


if __name__ == "__main__":
    if "--loadgen" in sys.argv:
        run_loadgen()
    else:
        backend = "real" if "--backend=real" in sys.argv or ("--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "real") else "sqlite"
        print(json.dumps(asyncio.run(main("--quick" in sys.argv, backend, no_idle="--no-idle" in sys.argv))))
