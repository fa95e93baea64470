"""``liq-signals study-signals RUN_DIR``: the signal event study over a backtest run directory."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Event study of a run's proximity signals: for each 'entered' event, how often the price reached the
cluster within each horizon and the return toward it; for each 'swept' event, whether the move continued —
each next to random bar closes of the same regime (calm / cascade) with the same side and distance, with 95%
intervals. Writes event_study.json, event_study.csv (one row per event and horizon) and event_study.html.

Example: liq-signals study-signals backtests/avoid-50bps --horizons 1h,4h,24h
"""


def register(app: typer.Typer) -> None:
    @app.command("study-signals", help=HELP)
    def study_signals(
        run_dir: Path = typer.Argument(..., help="A run directory written by `backtest` or `demo`."),
        horizons: str = typer.Option("1h,4h,24h", "--horizons", help="Comma-separated durations with units."),
        controls: int = typer.Option(20, "--controls", help="Random control times per event."),
        seed: int = typer.Option(0, "--seed", help="Seed of the control draws."),
        regime_window: str = typer.Option("4h", "--regime-window", help="Trailing window of the regime's range."),
        cascade_quantile: float = typer.Option(
            0.9, "--cascade-quantile", help="Range quantile above which a bar is in a cascade."
        ),
        out: Path = typer.Option(None, "--out", help="Output folder (default: RUN_DIR)."),
        json_out: bool = typer.Option(False, "--json", help="Print the study as one JSON object."),
    ) -> None:
        import json

        import pandas as pd

        from liq_signals.backtest.event_study import EventStudyConfig, headline, run_event_study
        from liq_signals.errors import LiqSignalsError
        from liq_signals.report.event_study_report import write_event_study_page

        cfg = EventStudyConfig(
            tuple(h.strip() for h in horizons.split(",") if h.strip()), controls, seed, regime_window, cascade_quantile
        )
        files = {name: run_dir / name for name in ("proximity_events.csv", "bars.parquet")}
        for name, path in files.items():
            if not path.is_file():
                raise LiqSignalsError(f"{run_dir}: no {name} (not a run directory written by `backtest`?)")
        study = run_event_study(pd.read_csv(files["proximity_events.csv"]), pd.read_parquet(files["bars.parquet"]), cfg)
        out = out or run_dir
        out.mkdir(parents=True, exist_ok=True)
        (out / "event_study.json").write_text(json.dumps({k: v for k, v in study.items() if k != "rows"}, indent=1))
        pd.DataFrame(study["rows"]).to_csv(out / "event_study.csv", index=False)
        page = write_event_study_page(study, out / "event_study.html", str(run_dir))
        if json_out:
            typer.echo(json.dumps({k: v for k, v in study.items() if k != "rows"}))
        else:
            for line in headline(study):
                typer.echo(line)
            typer.echo(f"written: {out / 'event_study.json'}, {out / 'event_study.csv'}, {page}")
