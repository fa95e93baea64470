"""Walk-forward: choose a sweep's best run on a selection period, report only that choice on a later period.

Config key ``walk_forward = {select_start, select_end, report_start, report_end, metric = "pnl_total"}`` (ISO UTC;
replaces ``start``/``end``). Every run of the config runs on [select_start, select_end] into
``OUT/select/<run-id>/``; the best by ``metric`` (a ``summary.json`` figure, see :data:`METRICS`; ties → the first
run in config order; ``OUT/select/index.html`` compares them) runs again, alone, on [report_start, report_end] into ``OUT/report/<run-id>/``, and
``OUT/walk_forward.json`` records the periods, every candidate's metric, the choice and its report-period summary.
The periods must not overlap (the report period starts at or after the selection period ends), so the choice
uses no data of the period it is judged on; the report run starts fresh (its own warm-up).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from liq_signals.errors import ConfigError

KEYS = ("select_start", "select_end", "report_start", "report_end", "metric")
METRICS = {  # summary.json figure -> True when larger is better
    "pnl_total": True,
    "sharpe": True,
    "max_drawdown_usdt": False,
    "funding_net_usdt": True,
    "vs_baseline_pnl": True,
}
SELECT_DIR, REPORT_DIR, RECORD = "select", "report", "walk_forward.json"


@dataclass(frozen=True)
class WalkForward:
    select_start: str
    select_end: str
    report_start: str
    report_end: str
    metric: str = "pnl_total"


def parse(path: Path, data: dict) -> WalkForward | None:
    """The config's ``walk_forward`` table checked (None when absent); ``ConfigError`` naming the field."""
    from liq_signals.times import to_timestamp

    wf = data.get("walk_forward")
    if wf is None:
        return None
    where = f"{path}: walk_forward"
    if not isinstance(wf, dict):
        raise ConfigError(f"{where} must be a table, got {wf!r}")
    unknown = sorted(set(wf) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} (known: {', '.join(KEYS)})")
    for key in KEYS[:4]:
        if key not in wf:
            raise ConfigError(f"{where}: missing '{key}'")
    if "start" in data or "end" in data:
        raise ConfigError(f"{path}: give the periods in walk_forward only (remove start/end)")
    ts = {}
    for key in KEYS[:4]:
        try:
            ts[key] = to_timestamp(wf[key], key)
        except Exception:
            raise ConfigError(f"{where}.{key} is not a timestamp: {wf[key]!r}") from None
    metric = wf.get("metric", "pnl_total")
    if metric not in METRICS:
        raise ConfigError(f"{where}.metric must be one of {', '.join(METRICS)}, got {metric!r}")
    for a, b in (("select_start", "select_end"), ("report_start", "report_end")):
        if ts[b] <= ts[a]:
            raise ConfigError(f"{where}: {b} must be after {a}")
    if ts["report_start"] < ts["select_end"]:
        raise ConfigError(
            f"{where}: the selection period [{ts['select_start']}, {ts['select_end']}] overlaps the "
            f"report period [{ts['report_start']}, {ts['report_end']}] (report_start must be at or "
            "after select_end)"
        )
    return WalkForward(*(ts[k].isoformat() for k in KEYS[:4]), metric=metric)


def metric_value(summary, metric: str):
    """The metric of a run's summary (None when not available)."""
    if metric == "vs_baseline_pnl":
        return (summary.vs_baseline or {}).get("pnl_total")
    return getattr(summary, metric)


def choose(results: list, metric: str):
    """The result with the best metric (ties → the first); ``ConfigError`` when no run has the metric."""
    better = METRICS[metric]
    scored = [(metric_value(r.summary, metric), i) for i, r in enumerate(results)]
    scored = [(v, i) for v, i in scored if v is not None]
    if not scored:
        raise ConfigError(f"walk_forward.metric {metric!r}: no run of the selection period has it")
    best = max(scored, key=lambda t: (t[0] if better else -t[0], -t[1]))
    return results[best[1]]


def run_walk_forward(wf: WalkForward, prepared, out_dir: Path, finish=None, **run_kw) -> dict:
    """Selection sweep, choice, report run; returns the record written to ``OUT/walk_forward.json``."""
    from liq_signals.backtest.node import check_catalogs, run_backtests

    out_dir = Path(out_dir)
    selected = run_backtests(None, out_dir / SELECT_DIR, prepared=prepared, **run_kw)
    from liq_signals.report.sweep_report import write_sweep_page

    write_sweep_page(out_dir / SELECT_DIR, [r.run_id for r in selected], title=f"walk-forward selection by {wf.metric}")
    chosen = choose(selected, wf.metric)
    spec = next(s for s in prepared[0] if s.id == chosen.run_id)
    spec = dataclasses.replace(spec, settings={**spec.settings, "start": wf.report_start, "end": wf.report_end})
    reported = run_backtests(
        None, out_dir / REPORT_DIR, prepared=([spec], check_catalogs([spec])), finish=finish, executor="serial"
    )[0]
    record = {
        "metric": wf.metric,
        "larger_is_better": METRICS[wf.metric],
        "select_period": [wf.select_start, wf.select_end],
        "report_period": [wf.report_start, wf.report_end],
        "candidates": [{"run_id": r.run_id, wf.metric: metric_value(r.summary, wf.metric)} for r in selected],
        "chosen": chosen.run_id,
        "select_summary": chosen.summary.to_dict(),
        "report_summary": reported.summary.to_dict(),
        "report_dir": str(reported.run_dir),
    }
    (out_dir / RECORD).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return record
