"""Imports every domain's table definitions so that ``atlas.db.metadata`` is complete.

Alembic's environment and the schema-drift test use this; the app does not need it.
"""

from __future__ import annotations

import importlib

from atlas.app import DOMAINS


def import_all_tables() -> None:
    for name in DOMAINS:
        try:
            importlib.import_module(f"atlas.{name}.tables")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"atlas.{name}.tables", f"atlas.{name}"):
                raise
