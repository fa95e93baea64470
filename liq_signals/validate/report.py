"""Outputs of a validation run: one JSON object, metrics.csv, snapshots.csv and a self-contained report.html.

JSON shape — one model::

    {"symbol", "model", "snapshots", "events", "scored", "reason", "proxy", "ground_truth", "baseline",
     "metrics": {horizon: {"long"|"short"|"all": {"precision_at_k", "baseline_precision_at_k", "lift",
                 "precision_wilson95", "notional_recall", "baseline_notional_recall", "recall_lift",
                 "spearman", "n_spearman", "n_events", "n_zones", ...}}},
     "skipped": {horizon: {reason: n, "scored": n, "snapshots": n}}, "settings": {...}, "notes": [...]}

``settings`` records the run's options, ``engine_overrides`` ({field: value} given with ``--set``, {} for
the defaults) and ``engine_priors`` (the tier, leverage-mix, decay, size, side-attribution and ensemble values
the engine actually used).

``--model all`` (several models)::

    {"symbol", "model": "all", "proxy", "ground_truth", "baseline", "settings", "notes",
     "models": {"a": <one-model object>, "b": ..., "c": ..., "ensemble": ...}}

A model that could not be scored has ``"scored": false``, ``"reason"`` and ``"metrics": null``.
NaN becomes null. ``events`` = distinct realized events inside the scored windows.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

from liq_signals.engine import overrides as ov
from liq_signals.validate.run import ValidationResult


def json_ready(v):
    """``v`` with NaN/inf -> None, tuples -> lists, numpy scalars -> Python (for ``json.dumps``)."""
    return _clean(v)


def _clean(v):
    if isinstance(v, float):
        return None if not math.isfinite(v) else v
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        return _clean(v.item())
    return v


PRIOR_FIELDS = (
    "tier_weights",
    "tier_half_life_hours",
    "representative_notional_usd",
    "side_attribution",
    "ensemble_weights",
)


def engine_priors(r: ValidationResult) -> dict:
    """The engine's prior values this run used (defaults + overrides): tiers and the PRIOR_FIELDS."""
    ecfg = r.config.engine_config(r.config.models[0])
    return {n: getattr(ecfg, n) for n in ("tiers", *PRIOR_FIELDS)}


def _settings(r: ValidationResult) -> dict:
    c = r.config
    return {
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "every": c.every,
        "horizons": list(c.horizons),
        "top_k": c.top_k,
        "top_k_per": "side",
        "zones": c.zones,
        "bucket_bps": c.bucket_bps,
        "min_events": c.min_events,
        "seed": c.seed,
        "baseline_draws": c.baseline_draws,
        "warmup": c.warmup,
        "proxy": c.proxy,
        "proxy_min_drop": c.proxy_min_drop if c.proxy else None,
        "engine_overrides": ov.format_overrides(c.engine_overrides),
        "engine_priors": engine_priors(r),
    }


def model_object(r: ValidationResult, model: str) -> dict:
    res = r.results[model]
    return _clean(
        {
            "symbol": r.config.symbol,
            "model": model,
            "snapshots": res.snapshots,
            "events": res.events,
            "scored": res.scored,
            "reason": res.reason,
            "proxy": r.is_proxy,
            "ground_truth": r.ground_truth,
            "baseline": r.baseline,
            "metrics": res.metrics if res.scored else None,
            "skipped": res.skipped if res.scored else None,
            "settings": _settings(r),
            "notes": r.notes + res.notes,
        }
    )


def to_json_obj(r: ValidationResult) -> dict:
    """The single JSON object printed by ``--json`` (see module docstring for the shape)."""
    models = list(r.results)
    if len(models) == 1:
        return model_object(r, models[0])
    return _clean(
        {
            "symbol": r.config.symbol,
            "model": "all",
            "proxy": r.is_proxy,
            "ground_truth": r.ground_truth,
            "baseline": r.baseline,
            "settings": _settings(r),
            "notes": r.notes,
            "models": {m: model_object(r, m) for m in models},
        }
    )


def to_json(r: ValidationResult) -> str:
    return json.dumps(to_json_obj(r), indent=2, allow_nan=False)


def metrics_frame(r: ValidationResult) -> pd.DataFrame:
    """One row per model × horizon × side (not-scored models: one row with the reason); the column
    ``engine_overrides`` holds the run's ``--set`` items ('' for the defaults)."""
    rows = []
    sets = ov.override_text(r.config.engine_overrides)
    for m, res in r.results.items():
        if not res.scored:
            rows.append(
                {"model": m, "scored": False, "reason": res.reason, "proxy": r.is_proxy, "engine_overrides": sets}
            )
            continue
        for h, sides in res.metrics.items():
            for s, d in sides.items():
                lo, hi = d["precision_wilson95"]
                row = {
                    "model": m,
                    "scored": True,
                    "reason": "",
                    "proxy": r.is_proxy,
                    "engine_overrides": sets,
                    "horizon": h,
                    "side": s,
                }
                row.update({k: v for k, v in d.items() if k != "precision_wilson95"})
                row.update(wilson95_low=lo, wilson95_high=hi, **{f"skipped_{k}": v for k, v in res.skipped[h].items()})
                rows.append(row)
    return pd.DataFrame(rows)


def snapshots_frame(r: ValidationResult) -> pd.DataFrame:
    rows = [row for res in r.results.values() for row in res.rows]
    df = pd.DataFrame(rows)
    if len(df):
        df.insert(0, "proxy", r.is_proxy)
    return df


def _fmt(v, pct=False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.1%}" if pct else f"{v:.3g}"
    return str(v)


def summary_rows(r: ValidationResult) -> list[list[str]]:
    """Rows for the console/HTML table: model, horizon, side, P@k, baseline, lift, Wilson, recall, base, rho, n."""
    out = []
    for m, res in r.results.items():
        if not res.scored:
            out.append([m, "", "", f"not scored: {res.reason}"] + [""] * 8)
            continue
        for h, sides in res.metrics.items():
            for s, d in sides.items():
                lo, hi = d["precision_wilson95"]
                out.append(
                    [
                        m,
                        h,
                        s,
                        _fmt(d["precision_at_k"], True),
                        _fmt(d["baseline_precision_at_k"], True),
                        _fmt(d["lift"]),
                        f"{_fmt(lo, True)}–{_fmt(hi, True)}",
                        _fmt(d["notional_recall"], True),
                        _fmt(d["baseline_notional_recall"], True),
                        _fmt(d["spearman"]),
                        f"{d['n_events']}/{d['n_zones']}",
                        str(res.skipped[h]["scored"]),
                    ]
                )
    return out


HEADERS = [
    "model",
    "horizon",
    "side",
    "precision@k",
    "baseline",
    "lift",
    "Wilson 95%",
    "recall",
    "baseline recall",
    "Spearman",
    "events/zones",
    "windows",
]


def write_outputs(r: ValidationResult, out_dir: str | Path) -> list[Path]:
    """Write metrics.csv, snapshots.csv, report.html (and result.json) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.csv", out / "snapshots.csv", out / "report.html", out / "result.json"]
    metrics_frame(r).to_csv(paths[0], index=False)
    snapshots_frame(r).to_csv(paths[1], index=False)
    paths[2].write_text(render_html(r), encoding="utf-8")
    paths[3].write_text(to_json(r), encoding="utf-8")
    return paths


def render_html(r: ValidationResult) -> str:
    c = r.config
    e = html.escape
    title = f"liq-signals validate — {c.symbol} {c.start:%Y-%m-%d %H:%M} → {c.end:%Y-%m-%d %H:%M} UTC"
    banner = ""
    if r.is_proxy:
        banner = f'<p class="proxy"><b>PROXY</b> — {e(r.ground_truth)}. These are not recorded liquidations.</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{e(x)}</td>" for x in row) + "</tr>" for row in summary_rows(r))
    skips = []
    for m, res in r.results.items():
        if res.scored:
            for h, d in res.skipped.items():
                skips.append(f"<li>{e(m)} {e(h)}: " + ", ".join(f"{e(k)} {v}" for k, v in d.items()) + "</li>")
    notes = "".join(f"<li>{e(n)}</li>" for n in r.notes + [n for res in r.results.values() for n in res.notes])
    sets = ov.override_text(c.engine_overrides)
    priors = "; ".join(f"{k} = {v}" for k, v in engine_priors(r).items())
    engine = (
        f"Engine overrides (--set): <code>{e(sets)}</code>" if sets else "Engine: default priors"
    ) + f".<br>Priors used: {e(priors)}."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#eee}}
.proxy{{background:#fde68a;border:2px solid #b45309;padding:.5em;font-size:1.1em}}</style></head>
<body><h1>{e(title)}</h1>{banner}
<p>Ground truth: {e(r.ground_truth)}.<br>Baseline: {e(r.baseline)}.<br>
Zones: top {c.top_k} {e(c.zones)} per side; snapshots every {e(c.every)}; windows with fewer than
{c.min_events} events skipped. Wilson intervals treat zones as independent trials (overlapping windows make them optimistic).<br>
{engine}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Windows scored / skipped</h2><ul>{"".join(skips)}</ul>
<h2>Notes</h2><ul>{notes}</ul>
</body></html>
"""
