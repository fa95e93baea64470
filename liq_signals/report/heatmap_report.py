"""Standalone HTML reports built straight from engine outputs (no backtest run needed).

- ``write_heatmap_html(heatmap, bars, out, meta)`` — heatmap + liquidation map (for ``liq-signals heatmap
  ... --out FILE.html``);
- ``write_compare_html(comparison, bars, out, meta, at)`` — the models' maps side by side at one time with
  their agreement, the engine's agreement table, and each model's heatmap (``liq-signals compare-models``).

``heatmap`` is an engine ``Heatmap`` (``liq_signals.engine.batch``) or a long-format frame (time, side, tier,
price_low, price_high, notional_usd[, model]); ``bars`` is a frame with ``ts`` or ``ts_ns`` and OHLC (e.g.
``MarketInputs.bars``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from liq_signals.errors import LiqSignalsError
from liq_signals.report.run_data import normalise_bars, normalise_heatmap


def as_heatmap_frame(heatmap, model: str | None = None) -> pd.DataFrame:
    """Long-format normalised frame from an engine ``Heatmap`` (``to_frame()``) or a DataFrame; ``model``
    sets a ``model`` column when given."""
    df = heatmap.to_frame() if hasattr(heatmap, "to_frame") and not isinstance(heatmap, pd.DataFrame) else heatmap
    if not isinstance(df, pd.DataFrame):
        raise LiqSignalsError(f"expected a Heatmap or DataFrame, got {type(heatmap).__name__}")
    df = normalise_heatmap(df, "heatmap")
    if model is not None:
        df = df.assign(model=model)
    return df


def _bars(bars) -> pd.DataFrame:
    if "ts" not in bars.columns and "ts_ns" in bars.columns:
        bars = bars.rename(columns={"ts_ns": "ts"})
    return normalise_bars(bars, "bars")


def _engine_meta(heatmap, meta: dict | None) -> dict:
    """Header fields from an engine Heatmap (symbol, model, brackets, notes) overridden by ``meta``."""
    out = {}
    if hasattr(heatmap, "symbol"):
        out["instrument"] = heatmap.symbol
    if hasattr(heatmap, "model"):
        out["model"] = heatmap.model
    if getattr(heatmap, "brackets", None):
        out["brackets"] = heatmap.brackets
    if getattr(heatmap, "notes", None):
        out["notes"] = list(heatmap.notes)
    out.update(meta or {})
    return out


def _notes_html(meta: dict) -> str:
    import html

    notes = meta.get("notes") or []
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    return f"<div class='sub'>Engine notes:<ul>{items}</ul></div>"


def write_heatmap_html(heatmap, bars, out: Path, meta: dict | None = None, events: pd.DataFrame | None = None) -> Path:
    """Self-contained HTML with the heatmap (candles, last price, optional proximity events) and the
    liquidation map with a snapshot slider. ``meta`` keys: instrument, model, parameters, brackets,
    sources, notes. Returns ``out``."""
    from liq_signals.report import figures as F
    from liq_signals.report.header import header_html
    from liq_signals.report.page import Section, write_page

    df = as_heatmap_frame(heatmap)
    if df.empty:
        raise LiqSignalsError("heatmap has no non-zero levels: nothing to plot")
    b = _bars(bars)
    m = _engine_meta(heatmap, meta)
    title = f"{m.get('instrument', '')} estimated liquidation heatmap — model {m.get('model', '?')}".strip()
    head = header_html(title, b, m) + _notes_html(m)
    sections = [
        Section(
            "Liquidation heatmap (estimated)", F.heatmap_figure(df, b, events, None, title=title), div_id="heatmap"
        ),
        Section("Liquidation map at a snapshot (estimated)", F.liquidation_map_figure(df, b), div_id="liqmap"),
    ]
    return write_page(out, title, head, sections)


def comparison_frame(comparison) -> tuple[pd.DataFrame, pd.DataFrame | None, object]:
    """(long frame with ``model``, engine agreement table or None, first engine Heatmap or None) from a
    ``ModelComparison``, a ``{model: Heatmap|DataFrame}`` mapping or a frame with a ``model`` column."""
    agreement = getattr(comparison, "agreement", None)
    maps = getattr(comparison, "heatmaps", comparison)
    if isinstance(maps, pd.DataFrame):
        if "model" not in maps.columns:
            raise LiqSignalsError("model comparison needs a 'model' column")
        return normalise_heatmap(maps, "heatmap"), agreement, None
    if not isinstance(maps, Mapping) or len(maps) < 2:
        raise LiqSignalsError("model comparison needs at least two models")
    frames = [as_heatmap_frame(h, str(name)) for name, h in maps.items()]
    first = next(iter(maps.values()))
    return pd.concat(frames, ignore_index=True), agreement, (None if isinstance(first, pd.DataFrame) else first)


def write_compare_html(comparison, bars, out: Path, meta: dict | None = None, at=None) -> Path:
    """Self-contained HTML comparing models: side-by-side maps at ``at`` (default: the last common snapshot)
    with per-bin agreement, the pairwise agreement table over the whole period (when the engine provides
    it) and each model's heatmap. Returns ``out``."""
    import plotly.graph_objects as go

    from liq_signals.report import figures as F
    from liq_signals.report.header import header_html
    from liq_signals.report.page import Section, write_page

    df, agreement, first = comparison_frame(comparison)
    if df.empty:
        raise LiqSignalsError("no model has non-zero levels: nothing to compare")
    b = _bars(bars)
    m = _engine_meta(first, meta) if first is not None else dict(meta or {})
    models = sorted(df["model"].unique())
    m["model"] = ", ".join(models)
    title = f"{m.get('instrument', '')} model comparison (estimated liquidation levels)".strip()
    head = header_html(title, b, m) + _notes_html(m)
    try:
        cmp_fig = F.compare_models_figure(df, b, at=at)
    except ValueError as exc:
        raise LiqSignalsError(str(exc)) from None
    missing = [
        str(n) for n in getattr(getattr(comparison, "heatmaps", {}), "keys", lambda: [])() if str(n) not in models
    ]
    note = f"Models with no estimated levels in the period (not shown): {', '.join(missing)}." if missing else ""
    sections = [Section("Models side by side at one snapshot", cmp_fig, text=note, div_id="compare")]
    if agreement is not None and len(agreement):
        cols = list(agreement.columns)
        cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in agreement[c]] for c in cols]
        tbl = go.Figure(
            go.Table(
                header=dict(values=cols, fill_color="#1b2230", align="left"),
                cells=dict(values=cells, fill_color=F.PANEL_BG, align="left", height=22),
            )
        )
        F._layout(tbl, "Pairwise agreement over the period (mean over snapshot times)", 120 + 26 * len(agreement))
        sections.append(
            Section(
                "Agreement over the whole period",
                tbl,
                text="spearman: rank correlation over buckets either model fills; cosine: "
                "similarity of the long+short profiles; top_k_overlap: Jaccard overlap of "
                "the k largest (side, bucket) cells.",
                div_id="agreement",
            )
        )
    for i, name in enumerate(models):
        sections.append(
            Section(
                f"Heatmap — model {name}",
                F.heatmap_figure(df[df["model"] == name], b, title=f"model {name}", max_cols=360, max_rows=160),
                div_id=f"heatmap-{i}",
            )
        )
    return write_page(out, title, head, sections)
