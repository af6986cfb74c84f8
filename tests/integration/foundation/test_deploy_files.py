"""The deployment files are valid: compose parses with the services it promises; the unit runs `atlas serve`."""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def test_compose_has_app_postgres_redis() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(doc["services"]) == {"app", "postgres", "redis"}
    env = doc["services"]["app"]["environment"]
    assert env["ATLAS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["ATLAS_REDIS_URL"].startswith("redis://")


def test_dockerfile_serves_with_committed_assets() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in text
    assert 'CMD ["atlas", "serve"' in text


def test_systemd_unit_parses() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "deploy" / "atlas.service")
    assert "atlas serve" in parser["Service"]["ExecStart"]
