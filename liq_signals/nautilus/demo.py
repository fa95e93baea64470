"""The README's main flow on the shipped sample: ingest → catalog → backtest (+ report).

``run_demo()`` ingests ``liq_signals/sample_data/btcusdt-2023-11`` into a DuckDB file and exports the
Nautilus catalog when they are missing, runs ``configs/demo-actor.yaml`` (or another config) and returns
the run results; the report (``report.html``) sits in each run folder. Takes well under two minutes.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "btcusdt-2023-11"

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "demo-actor.yaml"


def prepare_catalog(db_path: Path, catalog_path: Path, note=print) -> None:
    """Ingest the BTCUSDT sample into ``db_path`` and export ``catalog_path`` unless the catalog has bars."""
    from liq_signals.data.ingest import ingest_paths
    from liq_signals.nautilus.catalog_export import export_catalog

    if (catalog_path / "data" / "bar").is_dir():
        note(f"catalog {catalog_path} exists: skipping ingest/export")
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    report = ingest_paths([SAMPLE_DIR], db_path)
    note(f"ingested {sum(f.rows_new for f in report.files)} new rows into {db_path}")
    exp = export_catalog(db_path, catalog_path, "BTCUSDT", "15m")
    note(f"catalog {catalog_path}: {exp.bars} bars, {exp.open_interest} OI, {exp.funding} funding")


def run_demo(config: Path = DEFAULT_CONFIG, out: Path = REPO_ROOT / "backtests",
             db_path: Path = REPO_ROOT / "data" / "demo.duckdb", note=print):
    """Prepare the catalog the config points at, run the config, print where the reports are."""
    from liq_signals.nautilus.backtest import load_runs, run_backtests

    specs = load_runs(config)
    prepare_catalog(db_path, specs[0].catalog_path, note)
    results = run_backtests(config, out)
    for r in results:
        s = r.summary
        fc = s.get("flush_check", {})
        flush = ""
        if fc.get("available"):
            flush = (f"; 2023-12-11 02:00 flush: {fc['long_notional_in_range_usd'] / 1e6:,.0f}M USDT of estimated "
                     f"long liquidations lay between {fc['low_after']:,.0f} and {fc['close_before']:,.0f}")
        note(f"{r.run_id}: {s['bars']} bars, {s['signals_published']} signals, {s['fills']} fills{flush}")
        note(f"  outputs: {r.run_dir}" + (f"  report: {r.report}" if r.report else ""))
    return results
