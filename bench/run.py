"""Runs every benchmark script in bench/ (or the ones named) and prints one JSON object per script.

Usage: python bench/run.py [--quick] [name ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _machine import describe  # noqa: E402 - bench/ is not a package


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")]
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))
    if names:
        scripts = [p for p in scripts if p.stem in names]
    results: dict[str, object] = {
        "machine": describe(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    status = 0
    for script in scripts:
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            status = 1
            results[script.stem] = {"error": proc.stderr.strip().splitlines()[-5:]}
            continue
        try:
            results[script.stem] = json.loads(proc.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            results[script.stem] = {"error": "no JSON on the last line of output"}
            status = 1
    print(json.dumps(results, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
