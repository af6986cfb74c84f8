"""``atlas events`` commands against the test's database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from atlas.cli import app
from atlas.config import Settings, get_settings


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ATLAS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("ATLAS_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ATLAS_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_status_reports_outbox_and_projections(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["events", "status"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.output)
    assert body["outbox"] == {"unpublished": 0, "undelivered": 0}
    assert body["projections"] == {}


def test_replay_of_an_unknown_consumer_fails_naming_the_registered_ones(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["events", "replay", "--from", "0", "--consumer", "nope"])
    assert result.exit_code == 1
    assert "no projection named 'nope'" in result.output


def test_replay_needs_a_non_negative_seq(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["events", "replay", "--from", "-1", "--consumer", "x"])
    assert result.exit_code == 2


def test_redrive_of_an_event_that_is_not_dead_exits_1(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["events", "redrive", "no-such-event"])
    assert result.exit_code == 1
    assert "0 event(s)" in result.output
