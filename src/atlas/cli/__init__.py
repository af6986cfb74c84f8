"""The ``atlas`` command: one typer app, one module per domain."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ATLAS × QFS server and tools.")

# Sub-command modules; each defines ``register(app)``. Missing ones are simply not offered yet.
_MODULES = ("serve", "db", "ledger", "events", "replay")


def _register() -> None:
    for name in _MODULES:
        try:
            module = importlib.import_module(f"atlas.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"atlas.cli.{name}":
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    app()
