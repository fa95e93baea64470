"""``liq-signals live``: run the live trading node (optionally on a loopback replay of a DuckDB file)."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Run a Nautilus TradingNode: Nautilus's Binance client for bars, liq_signals' client for open interest,
funding and liquidations, the warm-started liquidation signal actor, the config's strategy on the sandbox
(paper) venue. With --replay DB (or [replay] db in the config) a loopback Binance server replays the database
and the node stops when it is exhausted; otherwise it runs against base_url_http/base_url_ws until --duration
or Ctrl-C. Writes DIR/proximity_events.csv (the backtest's columns), summary.json, run_config.json, node.log.

Example:

  liq-signals live configs/live-btcusdt.toml --out backtests/live-btc
"""


def register(app: typer.Typer) -> None:
    """Attach the ``live`` command to ``app``."""

    @app.command("live", help=HELP)
    def live(
        config: Path = typer.Argument(..., help="Live config (.toml, .yaml or .yml)."),
        out: Path = typer.Option(
            Path("backtests/live"), "--out", help="Run directory to create (must not exist or be empty)."
        ),
        replay: Path = typer.Option(None, "--replay", help="DuckDB file to replay on a loopback Binance server."),
        duration: str = typer.Option(None, "--duration", help="Stop after this wall-clock time (e.g. 10m, 1h)."),
    ) -> None:
        from liq_signals.errors import ConfigError
        from liq_signals.live.runner import run_live
        from liq_signals.live.settings import load_live_settings

        settings = load_live_settings(config)
        if replay is not None and not replay.is_file():
            raise ConfigError(f"--replay {replay}: file not found")
        if duration is not None:
            from liq_signals.times import to_duration_ns

            to_duration_ns(duration, "--duration")
        result = run_live(settings, out, replay_db=replay, duration=duration, note=typer.echo)
        s = result.summary
        typer.echo(
            f"{result.run_dir}: {s['bars']} live bars (+{s['warm_bars']} warm-up), {s['open_interest_seen']} OI, "
            f"{s['funding_seen']} funding, {s['events']} proximity events, {s['orders']} orders, "
            f"{s['fills']} fills; stopped: {s['stop_reason']} ({s['wall_seconds']} s)"
        )
