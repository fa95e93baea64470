"""Report header: instrument, period, model and parameters, bracket snapshot, data sources, results."""

from __future__ import annotations

import html

import pandas as pd

from liq_signals.report.page import json_details, meta_table

ESTIMATE_NOTE = (
    "All liquidation intensities are <b>estimated</b>: the USDT notional of open positions that the model "
    "estimates would be liquidated if the (mark) price reached that band. They are model outputs built from "
    "open interest, volume and leverage priors — not recorded liquidations and not exchange order-book data."
)


def find_key(d, *needles: str):
    """First value (depth-first) whose key contains any of ``needles`` (case-insensitive); None if absent."""
    if isinstance(d, dict):
        for k, v in d.items():
            if any(n in str(k).lower() for n in needles):
                return v
        for v in d.values():
            found = find_key(v, *needles)
            if found is not None:
                return found
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v) if isinstance(v, (dict, list)) else v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value)


def baseline_text(baseline: dict, diff: dict) -> str:
    """'no_signal: PnL -12.00 USDT ... · run − baseline: PnL +3.40 USDT, ...' (USDT; trades = positions)."""
    labels = (
        ("pnl_total", "PnL"),
        ("max_drawdown_usdt", "max drawdown"),
        ("trades", "trades"),
        ("funding_net_usdt", "funding"),
    )

    def fmt(v, sign=""):
        if v is None:
            return "n/a"
        return f"{v:{sign},.2f}" if isinstance(v, float) else f"{v:{sign}d}"

    base = ", ".join(f"{label} {fmt(baseline.get(k))}" for k, label in labels)
    delta = ", ".join(f"{label} {fmt(diff.get(k), '+')}" for k, label in labels)
    return f"{baseline.get('kind', 'baseline')}: {base} · run − baseline: {delta} (USDT)"


def period_text(bars: pd.DataFrame) -> str:
    """'2023-11-14 00:00 → 2023-12-12 23:55 UTC, 8,352 bars of 5 min'."""
    ts = bars["ts"]
    step = ts.diff().median() if len(ts) > 1 else pd.NaT
    step_txt = ""
    if pd.notna(step):
        minutes = step.total_seconds() / 60
        step_txt = f" of {minutes:g} min" if minutes < 60 else f" of {minutes / 60:g} h"
    return f"{ts.iloc[0]:%Y-%m-%d %H:%M} → {ts.iloc[-1]:%Y-%m-%d %H:%M} UTC, {len(ts):,} bars{step_txt}"


def header_html(
    title: str, bars: pd.DataFrame, meta: dict, summary: dict | None = None, run_config: dict | None = None
) -> str:
    """Header block. ``meta`` keys (all optional): instrument, model, parameters, brackets, sources, strategy."""
    summary = summary or {}
    rc = run_config or {}
    instrument = meta.get("instrument") or summary.get("instrument") or find_key(rc, "instrument", "symbol")
    model = meta.get("model") or find_key(rc, "model")
    params = meta.get("parameters") or find_key(rc, "engine", "parameters", "params")
    brackets = meta.get("brackets") or find_key(rc, "bracket")
    sources = meta.get("sources") or find_key(rc, "source", "data")
    strategy = meta.get("strategy") or find_key(rc, "strategy")
    rows = [
        ("instrument", _text(instrument)),
        ("period", period_text(bars)),
        ("model", _text(model)),
        ("model parameters", _text(params)),
        ("bracket snapshot", _text(brackets) or "not recorded in the run"),
        ("data sources", _text(sources)),
        ("strategy", _text(strategy)),
    ]
    if summary:
        res = []
        for key, label in (
            ("signals_published", "signals"),
            ("orders", "orders"),
            ("orders_rejected", "rejected orders"),
            ("orders_denied", "denied orders"),
            ("fills", "fills"),
            ("pnl_total", "PnL total (USDT)"),
            ("max_drawdown_usdt", "max drawdown (USDT)"),
            ("trades", "trades"),
            ("funding_net_usdt", "net funding (USDT)"),
            ("wall_seconds", "wall time (s)"),
        ):
            if key in summary:
                v = summary[key]
                res.append(f"{label} {v:,.2f}" if isinstance(v, float) else f"{label} {v}")
        rows.append(("results", " · ".join(res)))
        if summary.get("baseline"):
            rows.append(("vs baseline", baseline_text(summary["baseline"], summary.get("vs_baseline") or {})))
        if "run_id" in summary:
            rows.insert(0, ("run", _text(summary["run_id"])))
    parts = [f"<h1>{html.escape(title)}</h1>", meta_table(rows), f"<div class='note'>{ESTIMATE_NOTE}</div>"]
    parts.append(json_details("run_config.json", rc))
    parts.append(json_details("summary.json", summary))
    return "\n".join(parts)
