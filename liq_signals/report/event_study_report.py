"""The signal event study as a page in the reports' style: touch rates and returns of the events next to their
matched random controls, per horizon and regime (error bars = 95 % intervals)."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from liq_signals.backtest.event_study import REGIMES, headline
from liq_signals.report.figures import _layout
from liq_signals.report.page import Section, json_details, meta_table, write_page

EVENT_COLOR, CONTROL_COLOR = "#f3c13a", "#5b7db1"


def _bars(fig, rows, key, scale, row, col, show_legend):
    """Event and control bars with 95 % error bars for ``key`` (a rate or a mean) over horizons."""
    for who, color, k in (("events", EVENT_COLOR, key), ("matched random times", CONTROL_COLOR, f"control_{key}")):
        val = [(r[k].get("rate", r[k].get("mean")) or 0.0) * scale for r in rows]
        lo = [(r[k]["ci95"][0] if r[k]["ci95"][0] is not None else 0.0) * scale for r in rows]
        hi = [(r[k]["ci95"][1] if r[k]["ci95"][1] is not None else 0.0) * scale for r in rows]
        fig.add_trace(
            go.Bar(
                x=[f"{r['horizon']} (n={r['events']})" for r in rows],
                y=val,
                name=who,
                marker_color=color,
                legendgroup=who,
                showlegend=show_legend,
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[h - v for h, v in zip(hi, val)],
                    arrayminus=[v - lo_ for v, lo_ in zip(val, lo)],
                    color="#d7dde8",
                ),
            ),
            row=row,
            col=col,
        )


def study_figure(study: dict, event: str, key: str, title: str, scale: float, unit: str) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[f"{r} periods" if r != "all" else "all periods" for r in REGIMES],
        shared_yaxes=True,
    )
    for c, regime in enumerate(REGIMES, start=1):
        rows = [r for r in study["results"] if r["event"] == event and r["regime"] == regime]
        _bars(fig, rows, key, scale, 1, c, c == 1)
    fig.update_yaxes(title_text=unit, row=1, col=1)
    fig.update_layout(barmode="group")
    fig = _layout(fig, title, 420)
    fig.update_layout(legend=dict(orientation="h", y=-0.12, yanchor="top", x=0, xanchor="left"))
    return fig


def write_event_study_page(study: dict, out: Path, source: str) -> Path:
    s = study["settings"]
    header = (
        f"<h1>Signal event study</h1><div class='sub'>{html.escape(source)}</div>"
        + meta_table(
            [
                ("horizons", ", ".join(s["horizons"])),
                ("controls per event", str(s["controls"])),
                (
                    "cascade",
                    f"trailing {s['regime_window']} high-low range in the top "
                    f"{1 - s['cascade_quantile']:.0%} of the run's bars",
                ),
                ("events on a bar", str(s["events_matched_to_bars"])),
            ]
        )
        + "<div class='note'>"
        + "<br>".join(html.escape(line) for line in headline(study))
        + "</div>"
    )
    sections = [
        Section(
            "Entered: did the price reach the cluster?",
            study_figure(
                study, "entered", "touch", "first touch of the cluster's near edge within the horizon", 100.0, "%"
            ),
            "Share of 'entered' events whose cluster was reached within the horizon, against random bar closes "
            "of the same regime with a band at the same side and distance.",
        ),
        Section(
            "Entered: return toward the cluster",
            study_figure(
                study, "entered", "return_toward_bps", "return toward the cluster over the horizon", 1.0, "bps"
            ),
            "Positive = the price moved toward the cluster (down for long clusters, up for short ones).",
        ),
        Section(
            "Swept: did the move continue?",
            study_figure(
                study, "swept", "continuation_bps", "return in the sweep's direction after the sweep", 1.0, "bps"
            ),
            "Positive = the price kept going the way it swept the cluster.",
        ),
    ]
    sections.append(
        Section(
            "Figures",
            None,
            json_details("study (JSON, without per-event rows)", {k: v for k, v in study.items() if k != "rows"}),
        )
    )
    return write_page(out, "Signal event study", header, sections)
