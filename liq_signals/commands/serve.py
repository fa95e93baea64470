"""``liq-signals serve``: the HTTP API and page over a DuckDB file (read-only)."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        db: Path = db_option("DuckDB file written by `ingest`, opened read-only (default: data/liq_signals.duckdb)."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", help="TCP port (1-65535)."),
    ) -> None:
        """Serve JSON endpoints (/levels, /heatmap, /compare-models, /liquidations, /symbols, /health; schema at
        /docs) and an interactive page at / over the stored data, with the CLI's engine and warm-up rules.

        Example: liq-signals serve --port 8000   (after `liq-signals demo`)
        """
        import uvicorn

        from liq_signals.api.app import create_app
        from liq_signals.errors import LiqSignalsError

        if not 1 <= port <= 65535:
            raise LiqSignalsError(f"--port must be between 1 and 65535, got {port}")
        application = create_app(db)
        _check_listen(host, port)
        typer.echo(f"serving {db} on http://{host}:{port}/ (API schema at /docs)")
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


def _check_listen(host: str, port: int) -> None:
    """Refuse (one line, exit 2) an address uvicorn could not listen on: busy port, unknown host."""
    import socket

    from liq_signals.errors import LiqSignalsError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LiqSignalsError(f"--host {host}: {exc.strerror or exc}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise LiqSignalsError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
