"""``atlas db``: database maintenance."""

from __future__ import annotations

import typer

from atlas.config import get_settings

db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Run the migrations up to REVISION (default: the latest)."""
    from atlas.migrate import upgrade_database

    upgrade_database(get_settings().resolved_database_url, revision)
    typer.echo("database is up to date")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
