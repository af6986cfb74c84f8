"""`ATLAS_ENV=prod atlas serve` on the defaults refuses to start and names every insecure setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from atlas.config import Settings, insecure_settings

ATLAS = Path(sys.executable).with_name("atlas")


def test_prod_on_defaults_exits_nonzero_naming_each_problem(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update({"ATLAS_ENV": "prod", "ATLAS_DATA_DIR": str(tmp_path)})
    proc = subprocess.run(
        [str(ATLAS), "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode != 0
    for name in ("ATLAS_SECRET_KEY", "ATLAS_LOG_KEY", "SQLite", "https"):
        assert name in proc.stderr, proc.stderr
    assert not (tmp_path / "secret_key").exists(), "prod must not generate secrets"


def test_secure_prod_settings_have_no_problems() -> None:
    settings = Settings(
        env="prod",
        secret_key="k" * 48,
        log_key="A" * 43 + "=",
        database_url="postgresql+asyncpg://db/atlas",
        public_url="https://atlas.example",
    )
    assert insecure_settings(settings) == []


def test_public_authority_and_origin() -> None:
    assert Settings(public_url="https://atlas.example").public_authority == "atlas.example"
    assert Settings(public_url="https://atlas.example:8443/").public_authority == "atlas.example:8443"
    assert Settings(public_url="http://127.0.0.1:8000").resolved_log_origin == "127.0.0.1:8000/genesis"
    assert Settings(chain_ids="1, 137").chain_ids == (1, 137)
