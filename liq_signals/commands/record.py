"""``liq-signals record``: record Binance liquidations, open interest and mark/funding into DuckDB."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Record Binance USD-M public data into a DuckDB file until --duration, SIGTERM or Ctrl-C: forceOrder
liquidations (at most one per symbol per second is pushed: counts are lower bounds), /fapi/v1/openInterest
polls, mark-price updates and funding crossings. Rows are written in atomic batches (--flush-every); a stop
flushes what is buffered; a restart over the same period adds no duplicates.

Example:

  liq-signals record --symbols BTCUSDT,ETHUSDT --db data/live.duckdb --duration 1h
"""


def register(app: typer.Typer) -> None:
    """Attach the ``record`` command to ``app``."""

    @app.command("record", help=HELP)
    def record_cmd(
        symbols: str = typer.Option(..., "--symbols", help="Comma-separated Binance symbols, e.g. BTCUSDT,ETHUSDT."),
        db: Path = typer.Option(..., "--db", help="DuckDB file (created when missing)."),
        duration: str = typer.Option(None, "--duration", help="Stop after this time (e.g. 10m, 1h)."),
        flush_every: str = typer.Option("5s", "--flush-every", help="Write a batch this often."),
        oi_poll: str = typer.Option("5s", "--oi-poll", help="Open-interest poll interval per symbol."),
        base_url_http: str = typer.Option("https://fapi.binance.com", "--base-url-http"),
        base_url_ws: str = typer.Option("wss://fstream.binance.com", "--base-url-ws"),
    ) -> None:
        import re

        from liq_signals.errors import ConfigError
        from liq_signals.live.config import LiqLiveDataClientConfig
        from liq_signals.live.recorder import record
        from liq_signals.times import to_duration_ns

        syms = [s.strip().upper() for s in symbols.split(",") if s.strip()]
        bad = [s for s in syms if not re.fullmatch(r"[A-Z0-9]{2,20}", s)]
        if not syms or bad:
            raise ConfigError(f"--symbols: not a Binance symbol list: {symbols!r}")
        dur = to_duration_ns(duration, "--duration") / 1e9 if duration else None
        flush = to_duration_ns(flush_every, "--flush-every") / 1e9
        poll = to_duration_ns(oi_poll, "--oi-poll") / 1e9
        cfg = LiqLiveDataClientConfig(
            instrument_ids=tuple(f"{s}-PERP.BINANCE" for s in syms),
            base_url_http=base_url_http,
            base_url_ws=base_url_ws,
            oi_poll_secs=poll,
            gap_secs=max(3 * poll, 600.0),
        )
        if db.exists() and not db.is_file():
            raise ConfigError(f"--db {db}: not a file")
        db.parent.mkdir(parents=True, exist_ok=True)
        counts = record(db, syms, cfg, flush_secs=flush, duration_s=dur)
        typer.echo("recorded: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=False)
