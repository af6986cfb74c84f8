"""``atlas serve``: refuse insecure production settings, migrate, then serve HTTP + WebSocket."""

from __future__ import annotations

import typer

from atlas.config import get_settings, insecure_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind."),
        port: int = typer.Option(8000, help="TCP port."),
    ) -> None:
        """Migrate the database if needed, then serve the API, the WebSocket and the web app."""
        import uvicorn

        from atlas.migrate import upgrade_database
        from atlas.observability import configure_logging

        settings = get_settings()
        configure_logging(settings.log_level)
        if settings.env == "prod":
            problems = insecure_settings(settings)
            if problems:
                typer.echo("Refusing to start in prod with insecure settings:", err=True)
                for problem in problems:
                    typer.echo(f"  - {problem}", err=True)
                raise typer.Exit(code=2)
        upgrade_database(settings.resolved_database_url)
        uvicorn.run(
            "atlas.app:main_app",
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # atlas.observability logs every request (route template, no raw path)
            proxy_headers=False,
            ws_ping_interval=20,
            ws_ping_timeout=20,
            # Ciphertext does not compress; deflate nearly doubled idle memory per socket (bench/chat.py).
            ws_per_message_deflate=False,
        )
