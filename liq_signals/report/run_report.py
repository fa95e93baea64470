"""``write_run_report(run_dir)``: the interactive HTML report of one backtest run directory.

Panels: header; time x price heatmap with candles, last price, proximity events and fills; liquidation
map at a chosen snapshot time (slider); model comparison when ``heatmap.parquet`` has a ``model`` column
with two or more models; strategy equity/drawdown with Nautilus statistics.

``heatmap.parquet`` may carry an optional ``model`` column (str). The rows of the run's own model
(``run_config.json`` ``model`` when present in the column, else the first model in sorted order) feed the
heatmap and the liquidation map; all models feed the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from liq_signals.report.run_data import RunData, load_run

REPORT_NAME = "report.html"


def primary_model(heatmap: pd.DataFrame, run_config: dict) -> str | None:
    """The model whose rows the main panels show (None when there is no ``model`` column)."""
    if "model" not in heatmap.columns:
        return None
    models = sorted(heatmap["model"].unique())
    wanted = run_config.get("model")
    if isinstance(wanted, dict):
        wanted = wanted.get("name")
    return str(wanted) if wanted in models else models[0]


def header_meta(data: RunData) -> dict:
    """Header fields read from the run-directory contract (``summary.json`` / ``run_config.json`` fields);
    fields the run did not record are left out."""
    rc = data.run_config_record
    summary = data.summary_record
    meta = {
        "instrument": summary.instrument or rc.settings.get("instrument"),
        "model": rc.model or summary.model,
        "parameters": rc.engine,
        "brackets": rc.brackets or summary.brackets,
        "sources": rc.data_sources,
        "strategy": rc.settings.get("strategy"),
    }
    return {k: v for k, v in meta.items() if v}


def build_sections(data: RunData) -> list:
    """Figures of the run report, in page order."""
    from liq_signals.report import figures as F
    from liq_signals.report.page import Section

    sections = []
    hm = data.heatmap
    main = hm
    if hm is not None and "model" in hm.columns:
        model = primary_model(hm, data.run_config)
        main = hm[hm["model"] == model]
    instrument = data.summary.get("instrument", "")
    if main is not None and len(main):
        n_ev = 0 if data.events is None else len(data.events)
        sections.append(
            Section(
                "Liquidation heatmap (estimated)",
                F.heatmap_figure(
                    main,
                    data.bars,
                    data.events,
                    data.fills,
                    title=f"{instrument} estimated liquidation heatmap".strip(),
                ),
                text=(
                    "Colour: estimated USDT notional that would be liquidated per price bin (purple low → yellow "
                    f"high); candles: price; red dashed: last price. {n_ev:,} proximity events (◆ entered, "
                    "✕ swept; 'left' hidden — click the legend), strategy fills ▲ buy / ▼ sell (filled = entry, "
                    "open = exit). A band that ends abruptly was swept by price."
                ),
                div_id="heatmap",
            )
        )
        sections.append(
            Section(
                "Liquidation map at a snapshot (estimated)",
                F.liquidation_map_figure(main, data.bars),
                text="Bars: estimated notional per price bin, stacked by leverage tier; curves: cumulative longs "
                "liquidated if price falls to a level (below) and shorts if it rises to it (above). Use the "
                "slider to move through snapshot times (default: the end of the run).",
                div_id="liqmap",
            )
        )
    else:
        sections.append(
            Section(
                "Liquidation heatmap (estimated)",
                F.figure_for_empty("heatmap.parquet missing or empty in this run", "No heatmap"),
                div_id="heatmap",
            )
        )
    if hm is not None and "model" in hm.columns and hm["model"].nunique() >= 2:
        try:
            fig = F.compare_models_figure(hm, data.bars)
        except ValueError as exc:
            fig = F.figure_for_empty(str(exc), "Model comparison")
        sections.append(
            Section(
                "Model comparison (estimated)",
                fig,
                text="The same snapshot time under each model; agreement = smallest share "
                "of each model's total per bin.",
                div_id="compare",
            )
        )
    if data.fills is not None or data.account is not None or data.stats:
        sections.append(
            Section("Strategy", F.strategy_figure(data.bars, data.fills, data.account, data.stats), div_id="strategy")
        )
    return sections


def write_run_report(run_dir: Path, out: Path | None = None, plotly_src: str | None = None) -> Path:
    """Write ``run_dir/report.html`` (or ``out``) and return its path. Raises ``InputFileError`` for a
    missing/corrupt run directory. The page embeds plotly.js unless ``plotly_src`` names a shared copy to load
    instead (a path relative to the page, e.g. ``../plotly.min.js`` for the reports of a sweep)."""
    from liq_signals.report.header import header_html
    from liq_signals.report.page import render_page, write_page

    run_dir = Path(run_dir)
    data = load_run(run_dir)
    meta = header_meta(data)
    title = f"{meta.get('instrument', '')} backtest report — {data.summary.get('run_id', run_dir.name)}".strip(" —")
    head = header_html(title, data.bars, meta, data.summary, data.run_config)
    out = Path(out or run_dir / REPORT_NAME)
    if plotly_src is None:
        return write_page(out, title, head, build_sections(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(use_shared_plotly(render_page(title, head, build_sections(data)), plotly_src), encoding="utf-8")
    return out


def use_shared_plotly(page: str, src: str) -> str:
    """``page`` with its inlined plotly.js replaced by ``<script src=src>`` (unchanged, hence still
    self-contained, if the page does not inline it the way :func:`liq_signals.report.page.render_page` does)."""
    import html

    from plotly.offline import get_plotlyjs

    inline = f"<script type='text/javascript'>{get_plotlyjs()}</script>"
    return page.replace(inline, f"<script type='text/javascript' src='{html.escape(src)}'></script>", 1)
