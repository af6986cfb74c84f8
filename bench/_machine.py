"""What machine a benchmark ran on, and how fast it runs plain Python.

The project's machines are all "2 cores", but one session's box ran this code 2.3x faster than the
next one's. ``python_ns_per_loop`` (a fixed pure-Python loop, best of 5) puts a number on that, so
results taken on different boxes can be compared: divide a rate by the box's speed, not by hope.
"""

from __future__ import annotations

import os
import platform
import sys
import time


def python_ns_per_loop(n: int = 2_000_000, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        total = 0
        for i in range(n):
            total += i
        best = min(best, time.process_time() - start)
    return round(best / n * 1e9, 1)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "python_executable": os.path.realpath(sys.executable),
        "python_ns_per_loop": python_ns_per_loop(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(describe()))
