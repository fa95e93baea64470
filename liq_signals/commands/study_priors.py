"""``liq-signals study-priors``: choose the engine's priors on an earlier window, report them on later ones."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option

HELP = """Time-split study of the engine's priors: leverage mix (tier_weights), decay (tier_half_life_hours) and side attribution (side_attribution).

1. Every candidate of a fixed grid (4 leverage mixes x 3 half-life scalings x 2 side attributions = 24, the pre-study priors first) is validated on the TUNING window only: BTCUSDT 2023-11-15 00:00 -> 2023-12-03 20:00, models a and b, horizons 1h and 4h, a snapshot every hour, 1 day warm-up, oi-drop PROXY ground truth, top 10 buckets of 10 bps per side, 50 baseline draws.

2. The best candidate by pooled excess precision@k ((zones hit - baseline zones hit) / zones over models, horizons and both sides; ties -> the earlier candidate) is chosen; it is "supported" only when the lower end of its precision's Wilson 95% interval is above its baseline precision.

3. The pre-study priors and the chosen ones are validated on the EVALUATION windows, all after the tuning window ends (2023-12-04 00:00): BTCUSDT 2023-12-04 -> 12-12 (proxy; holds the 2023-12-11 flush; models a, b, ensemble), BTCUSDT 2025-01-27 16:56 -> 17:10 (recorded liquidations, model c and ensemble), HYPEUSDT 2025-10-25 17:50 -> 18:30 (recorded liquidations; a, b, ensemble).

An evaluation window that starts before the tuning window ends is refused. The database must hold the shipped sample (liq-signals ingest liq_signals/sample_data --db FILE): a window outside its bars is refused. It runs up to 30 validations (24 candidates, 2 per evaluation window); see the README for a measured run time.

Example:

  liq-signals study-priors --db liq.duckdb --out study/
"""


def register(app: typer.Typer) -> None:
    """Attach the ``study-priors`` command to ``app``."""

    @app.command("study-priors", help=HELP)
    def study_priors(
        db: Path = db_option(
            "DuckDB file holding the shipped sample (see `ingest`; default: data/liq_signals.duckdb)."
        ),
        tune_start: str = typer.Option(
            None, "--tune-start", help="First tuning snapshot, UTC (default 2023-11-15 00:00)."
        ),
        tune_end: str = typer.Option(None, "--tune-end", help="Last tuning snapshot, UTC (default 2023-12-03 20:00)."),
        out: Path = typer.Option(None, "--out", help="Write study.json and study.md here."),
        json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
        quiet: bool = typer.Option(False, "--quiet", help="Hide the progress bar."),
    ) -> None:
        import dataclasses

        from liq_signals.commands.progress import progress_bar
        from liq_signals.errors import LiqSignalsError
        from liq_signals.validate import study as st
        from liq_signals.validate import study_report as sr

        if not db.exists():
            raise LiqSignalsError(
                f"database {db} does not exist: run `liq-signals ingest liq_signals/sample_data --db {db}`"
            )
        tuning = st.DEFAULT_TUNING
        if tune_start or tune_end:
            tuning = dataclasses.replace(tuning, start=tune_start or tuning.start, end=tune_end or tuning.end)
        study = st.PriorStudy(str(db), tuning=tuning)
        _require_windows_in_data(db, [study.tuning, *study.evaluation])
        n = len(study.candidates) + 2 * len(study.evaluation)
        with progress_bar(quiet or json_out) as p:
            task = p.add_task("study-priors", total=n)
            result = st.run_study(study, progress=lambda _c: p.advance(task))
            p.update(task, completed=n)  # 2 runs per evaluation window only when the choice is not the reference
        paths = sr.write_outputs(result, out) if out is not None else []
        if json_out:
            typer.echo(sr.to_json(result))
            return
        from liq_signals.commands.tables import new_console, new_table

        console = new_console(200)
        console.print(f"tuning: {study.tuning.label()}", highlight=False)
        for w in study.evaluation:
            console.print(f"evaluation: {w.label()}", highlight=False)
        for title, headers, rows in (
            ("tuning window (pooled over models a, b, horizons and sides)", sr.TUNING_HEADERS, sr.tuning_rows(result)),
            ("evaluation windows (pooled)", sr.POOLED_HEADERS, sr.pooled_rows(result)),
            ("per model and horizon, tuning window first (side all)", sr.EVAL_HEADERS, sr.evaluation_rows(result)),
        ):
            table = new_table(title, headers)
            for row in rows:
                table.add_row(*row)
            console.print(table)
        t = result.tuning
        console.print(f"chosen: {t.chosen.name}; adopt: {t.adopt} — {t.reason}", highlight=False)
        console.print(f"as validate options: {t.chosen.set_args}", highlight=False)
        for pth in paths:
            console.print(f"wrote {pth}", highlight=False)


def _require_windows_in_data(db: Path, windows) -> None:
    """Refuse (one line naming the window) a study window whose snapshot range is not inside the stored bars."""
    from liq_signals.commands.bar_range import bar_coverage
    from liq_signals.times import to_ns

    for w in windows:
        bar_coverage(db, w.symbol).require_range(
            to_ns(w.start), to_ns(w.end), f"window {w.name} start", f"window {w.name} end"
        )
