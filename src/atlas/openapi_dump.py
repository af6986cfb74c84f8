"""Prints the app's OpenAPI document (``make openapi`` commits it as ``openapi.json``)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from atlas.app import create_app
from atlas.config import Settings


def document() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp)))
        return app.openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
