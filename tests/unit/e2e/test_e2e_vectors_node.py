"""The vectors are reproduced by an independent implementation written from docs/protocol.md on
Node's built-in crypto (OpenSSL): tests/vectors/e2e/check_node.mjs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "vectors" / "e2e" / "check_node.mjs"


def test_node_reproduces_the_vectors() -> None:
    node = shutil.which("node")
    assert node is not None, "node is required (the browser build needs it too)"
    out = subprocess.run([node, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603 - fixed script in the repository
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
