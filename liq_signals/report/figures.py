"""Plotly figure builders for the liquidation reports (dark theme, prices in USDT, times in UTC).

Every intensity shown is *estimated*: the USDT notional of positions the engine estimates would be
liquidated in that price band (mean over the snapshots a heatmap column covers).

Length: one builder per figure of the report (heatmap, events, fills, map by tier, comparison, equity), all
sharing the layout and colour helpers at the top; splitting them would scatter the one style.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from liq_signals.report.aggregate import (
    HeatmapMatrix,
    downsample_bars,
    heatmap_matrix,
    level_profile,
    price_at,
    profile_overlap,
    snapshot_range,
)
from liq_signals.report.equity import equity_curve
from liq_signals.times import to_naive_utc

# Commercial-map look: purple -> blue -> teal -> yellow on a near-black background.
HEATMAP_COLORSCALE = [
    [0.0, "#2a0c4e"],
    [0.15, "#4b1d8f"],
    [0.35, "#2f55c4"],
    [0.6, "#18a3a0"],
    [0.8, "#8fd14f"],
    [1.0, "#fde725"],
]
TIER_COLORS = {
    5: "#4c78dd",
    10: "#35c3e0",
    20: "#5fd39b",
    25: "#7bd65a",
    50: "#f3c13a",
    75: "#f08a3c",
    100: "#f0524f",
    125: "#d23ca8",
}
_FALLBACK = ["#b07aa1", "#9c9ede", "#e7ba52", "#17becf", "#bcbd22"]
SIDE_COLORS = {"long": "#26c6da", "short": "#ffa726"}
UP, DOWN = "#0ecb81", "#f6465d"
BG, PANEL_BG, GRID, TEXT = "#0d1117", "#0d1117", "#263040", "#d7dde8"
LAST_PRICE = "#ff3b3b"
NOTIONAL_NOTE = "estimated USDT notional of positions that would be liquidated in the band"


def tier_color(tier: int, i: int = 0) -> str:
    return TIER_COLORS.get(int(tier), _FALLBACK[i % len(_FALLBACK)])


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=16)),
        height=height,
        paper_bgcolor=BG,
        plot_bgcolor=PANEL_BG,
        font=dict(color=TEXT, size=12),
        margin=dict(l=70, r=30, t=80, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1.0, bgcolor="rgba(0,0,0,0)"),
        hoverlabel=dict(bgcolor="#1b2230", font=dict(color="#ffffff")),
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


def _usd(x: float) -> str:
    """Compact USDT amount: 1.2B / 35.4M / 12.3k."""
    a = abs(x)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:,.1f}{suf}"
    return f"{x:,.0f}"


# ---------------------------------------------------------------------------------------------- heatmap
def heatmap_figure(
    heatmap: pd.DataFrame,
    bars: pd.DataFrame,
    events: pd.DataFrame | None = None,
    fills: pd.DataFrame | None = None,
    title: str = "Estimated liquidation heatmap",
    max_cols: int = 720,
    max_rows: int = 260,
    max_candles: int = 1500,
) -> go.Figure:
    """Time x price heatmap of estimated liquidation notional with candles, last price, proximity events
    and strategy fills. ``heatmap`` is long format (see ``run_data.normalise_heatmap``). Bars more than 5%
    of the heatmap's time span before its first snapshot (engine warm-up) are not drawn."""
    t_first, t_last = heatmap["time"].min(), heatmap["time"].max()
    margin = max((t_last - t_first) * 0.05, pd.Timedelta(hours=1))
    clipped = bars[bars["ts"] >= t_first - margin]
    bars = clipped if len(clipped) else bars
    lo_bar, hi_bar = float(bars["low"].min()), float(bars["high"].max())
    span = max(hi_bar - lo_bar, hi_bar * 0.01)
    grid_lo = max(float(heatmap["price_low"].min()), lo_bar * 0.7)
    grid_hi = min(float(heatmap["price_high"].max()), hi_bar * 1.3)
    if not grid_lo < grid_hi:
        grid_lo, grid_hi = lo_bar * 0.9, hi_bar * 1.1
    m = heatmap_matrix(heatmap, max_cols=max_cols, max_rows=max_rows, price_range=(grid_lo, grid_hi))
    fig = go.Figure()
    fig.add_trace(_heatmap_trace(m, bars))
    shown = downsample_bars(bars, max_candles)
    fig.add_trace(
        go.Candlestick(
            x=shown["ts"],
            open=shown["open"],
            high=shown["high"],
            low=shown["low"],
            close=shown["close"],
            name="price (OHLC)",
            increasing=dict(line=dict(color=UP, width=1), fillcolor=UP),
            decreasing=dict(line=dict(color=DOWN, width=1), fillcolor=DOWN),
            whiskerwidth=0.3,
        )
    )
    if events is not None and len(events):
        for tr in event_traces(events):
            fig.add_trace(tr)
    if fills is not None and len(fills):
        for tr in fill_traces(fills):
            fig.add_trace(tr)
    last = float(bars["close"].iloc[-1])
    _last_price_line(fig, last)
    bin_w = float(m.edges[1] - m.edges[0])
    per = int(m.snapshots_per_col.max()) if len(m.snapshots_per_col) else 1
    note = f"bins: {bin_w:,.4g} USDT x {per} snapshot(s) per column (mean)"
    if m.notional_outside > 0:
        note += f"; {_usd(m.notional_outside)} USDT of bands outside the shown grid"
    _layout(fig, f"{title}<br><sup>colour: {NOTIONAL_NOTE}; {note}</sup>", 800)
    y0 = max(lo_bar - 0.5 * span, float(m.edges[0]))
    y1 = min(hi_bar + 0.5 * span, float(m.edges[-1]))
    fig.update_layout(
        xaxis=dict(title="time (UTC)", rangeslider=dict(visible=False), type="date"),
        yaxis=dict(title="price (USDT)", range=[y0, y1], tickformat=",.0f", side="left"),
        hovermode="closest",
        margin=dict(t=70, b=40),
        legend=dict(orientation="h", y=-0.09, yanchor="top", x=0, xanchor="left"),
    )
    return fig


def _heatmap_trace(m: HeatmapMatrix, bars: pd.DataFrame) -> go.Heatmap:
    total = m.total
    positive = total[total > 0]
    zmax = float(np.quantile(positive, 0.99)) if len(positive) else 1.0
    z = np.where(total > zmax * 0.01, total, np.nan).astype("float32")
    # distance of each bin centre from the close at the column time, in basis points
    closes = np.array([price_at(bars, t) for t in m.times]) if len(m.times) else np.zeros(0)
    dist = (m.centers[:, None] / closes[None, :] - 1.0) * 1e4
    custom = np.stack([m.long, m.short, m.dominant_tier(), dist], axis=-1).astype("float32")
    return go.Heatmap(
        x=m.times,
        y=m.centers,
        z=z,
        customdata=custom,
        zmin=0,
        zmax=zmax,
        colorscale=HEATMAP_COLORSCALE,
        name="est. liquidation notional",
        showscale=True,
        showlegend=False,
        hoverongaps=False,
        colorbar=dict(
            title=dict(text="estimated<br>notional<br>(USDT/bin)", side="top"),
            thickness=12,
            x=1.0,
            xanchor="left",
            tickformat="~s",
        ),
        hovertemplate=(
            "%{x|%Y-%m-%d %H:%M} UTC<br>price %{y:,.1f} USDT<br>"
            "est. notional %{z:,.0f} USDT<br>long %{customdata[0]:,.0f} / short %{customdata[1]:,.0f}<br>"
            "dominant tier %{customdata[2]:.0f}x<br>distance %{customdata[3]:+,.0f} bps<extra></extra>"
        ),
    )


def _last_price_line(fig: go.Figure, last: float, row=None, col=None) -> None:
    kwargs = dict(
        y=last,
        line=dict(color=LAST_PRICE, width=1.5, dash="dash"),
        annotation=dict(text=f"last {last:,.1f}", font=dict(color=LAST_PRICE), bgcolor="rgba(13,17,23,0.8)"),
        annotation_position="top left",
    )
    if row is not None:
        kwargs.update(row=row, col=col)
    fig.add_hline(**kwargs)


EVENT_STYLE = {  # event -> (symbol, size, visible by default)
    "entered": ("diamond", 8, True),
    "touched": ("triangle-down-open", 9, True),
    "left": ("diamond-open", 8, "legendonly"),
    "swept": ("x", 11, True),
}


def event_traces(events: pd.DataFrame) -> list[go.Scatter]:
    """Proximity events as markers at the band mid-price: one trace per (event, side)."""
    out = []
    for ev, (symbol, size, visible) in EVENT_STYLE.items():
        for side in ("long", "short"):
            e = events[(events["event"] == ev) & (events["side"] == side)]
            if e.empty:
                continue
            mid = (e["price_low"] + e["price_high"]) / 2
            text = [
                f"{ev} — {s} cluster<br>band {a:,.1f}–{b:,.1f} USDT<br>est. notional {n:,.0f} USDT"
                f"<br>distance {d:,.0f} bps<br>model {mo}"
                for s, a, b, n, d, mo in zip(
                    e["side"], e["price_low"], e["price_high"], e["notional_usd"], e["distance_bps"], e["model"]
                )
            ]
            color = "#ffffff" if ev == "swept" else SIDE_COLORS[side]
            out.append(
                go.Scatter(
                    x=e["ts"],
                    y=mid,
                    mode="markers",
                    name=f"{ev}: {side} cluster",
                    legendgroup=f"ev-{ev}",
                    visible=visible,
                    hovertext=text,
                    hoverinfo="text",
                    marker=dict(
                        symbol=symbol,
                        size=size,
                        color=color,
                        line=dict(width=2 if ev == "swept" else 1, color=SIDE_COLORS[side]),
                    ),
                )
            )
    return out


FILL_STYLE = {  # (role, order side) -> (label, symbol, colour)
    ("entry", "BUY"): ("entry long (buy)", "triangle-up", "#00e676"),
    ("entry", "SELL"): ("entry short (sell)", "triangle-down", "#ff4081"),
    ("exit", "SELL"): ("exit long (sell)", "triangle-down-open", "#00e676"),
    ("exit", "BUY"): ("exit short (buy)", "triangle-up-open", "#ff4081"),
}


def fill_traces(fills: pd.DataFrame) -> list[go.Scatter]:
    """Strategy fills: entries filled triangles, exits open triangles; up = buy, down = sell."""
    out = []
    for (role, side), (label, symbol, color) in FILL_STYLE.items():
        f = fills[(fills["role"] == role) & (fills["order_side"] == side)]
        if f.empty:
            continue
        out.append(
            go.Scatter(
                x=f["ts"],
                y=f["price"],
                mode="markers",
                name=label,
                legendgroup="fills",
                customdata=np.stack([f["qty"].to_numpy(float), f["commission"].to_numpy(float)], axis=-1),
                hovertemplate=f"{label}<br>%{{x|%Y-%m-%d %H:%M}} UTC<br>price %{{y:,.1f}} USDT"
                "<br>qty %{customdata[0]} base<br>fee %{customdata[1]:.4f} USDT<extra></extra>",
                marker=dict(
                    symbol=symbol,
                    size=10,
                    color=color,
                    line=dict(width=2, color=color if "open" in symbol else "#000000"),
                ),
            )
        )
    return out


# ---------------------------------------------------------------------------------------- liquidation map
def pick_times(times: np.ndarray, max_steps: int) -> np.ndarray:
    """At most ``max_steps`` snapshot times, evenly spaced over the run, always including the last."""
    uniq = np.unique(times)
    if len(uniq) <= max_steps:
        return uniq
    idx = np.unique(np.round(np.linspace(0, len(uniq) - 1, max_steps)).astype(int))
    return uniq[idx]


def liquidation_map_figure(
    heatmap: pd.DataFrame,
    bars: pd.DataFrame,
    max_steps: int = 30,
    max_rows: int = 120,
    title: str = "Estimated liquidation map",
) -> go.Figure:
    """Coinglass-style liquidation map: horizontal bars per price bin stacked by leverage tier, cumulative
    long curve below the price and short curve above, with a slider over snapshot times (default: last)."""
    tiers = np.unique(heatmap["tier"].to_numpy(np.int64))
    steps_t = pick_times(heatmap["time"].to_numpy(), max_steps)
    by_time = {t: g for t, g in heatmap.groupby("time", sort=True)}
    fig = go.Figure()
    per_step = len(tiers) + 2
    step_layouts = []
    for k, t in enumerate(steps_t):
        rows = by_time[t]
        price = price_at(bars, t)
        prof = level_profile(rows, t, price, max_rows=max_rows, tiers=tiers)
        visible = k == len(steps_t) - 1
        centers = prof.centers
        width = float(prof.edges[1] - prof.edges[0])
        dist = (centers / price - 1) * 1e4
        for i, tier in enumerate(tiers):
            x = prof.long[i] + prof.short[i]
            side = np.where(prof.long[i] >= prof.short[i], "long", "short")
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=centers,
                    orientation="h",
                    width=width * 0.9,
                    name=f"{tier}x",
                    legendgroup=f"tier{tier}",
                    marker=dict(color=tier_color(tier, i), line=dict(width=0)),
                    visible=visible,
                    customdata=np.stack([prof.edges[:-1], prof.edges[1:], dist], axis=-1),
                    hovertext=side,
                    hovertemplate=(
                        f"{tier}x tier, %{{hovertext}} liquidations<br>band %{{customdata[0]:,.1f}}–"
                        "%{customdata[1]:,.1f} USDT<br>est. notional %{x:,.0f} USDT<br>"
                        "distance %{customdata[2]:+,.0f} bps<extra></extra>"
                    ),
                )
            )
        for name, cum, color in (
            ("cumulative longs (below price)", prof.cumulative_long(), SIDE_COLORS["long"]),
            ("cumulative shorts (above price)", prof.cumulative_short(), SIDE_COLORS["short"]),
        ):
            fig.add_trace(
                go.Scatter(
                    x=cum,
                    y=centers,
                    xaxis="x2",
                    mode="lines",
                    name=name,
                    visible=visible,
                    line=dict(color=color, width=2.5),
                    customdata=dist,
                    legendgroup=name,
                    hovertemplate=(
                        f"{name}<br>price %{{y:,.1f}} USDT<br>est. notional %{{x:,.0f}} USDT"
                        "<br>distance %{customdata:+,.0f} bps<extra></extra>"
                    ),
                )
            )
        ts_label = pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")
        step_layouts.append(
            dict(
                title=dict(
                    text=f"{title} at {ts_label} UTC (price {price:,.1f} USDT)<br><sup>bars: {NOTIONAL_NOTE},"
                    f" stacked by leverage tier; {width:,.4g} USDT bins</sup>",
                    x=0.01,
                    xanchor="left",
                ),
                shapes=[
                    dict(
                        type="line",
                        xref="paper",
                        x0=0,
                        x1=1,
                        y0=price,
                        y1=price,
                        line=dict(color=LAST_PRICE, width=1.5, dash="dash"),
                    )
                ],
                annotations=[
                    dict(
                        xref="paper",
                        x=0.995,
                        y=price,
                        xanchor="right",
                        yanchor="bottom",
                        showarrow=False,
                        text=f"price {price:,.1f}",
                        font=dict(color=LAST_PRICE),
                    )
                ],
                **{"yaxis.range": [float(prof.edges[0]), float(prof.edges[-1])]},
            )
        )
    _layout(fig, title, 720)
    fig.update_layout(
        barmode="stack",
        bargap=0.05,
        hovermode="closest",
        margin=dict(t=110, b=110),
        xaxis=dict(title="estimated notional per bin (USDT)", tickformat="~s"),
        xaxis2=dict(
            title="cumulative estimated notional (USDT)",
            overlaying="x",
            side="top",
            tickformat=".3~s",
            showgrid=False,
            rangemode="tozero",
        ),
        yaxis=dict(title="price (USDT)", tickformat=",.0f"),
        legend=dict(y=-0.08, yanchor="top", x=0, xanchor="left"),
    )
    last = step_layouts[-1]
    fig.update_layout(
        title=last["title"], shapes=last["shapes"], annotations=last["annotations"], yaxis_range=last["yaxis.range"]
    )
    if len(steps_t) > 1:
        n = len(fig.data)
        steps = []
        for k, t in enumerate(steps_t):
            vis = [False] * n
            vis[k * per_step : (k + 1) * per_step] = [True] * per_step
            steps.append(
                dict(
                    method="update",
                    label=pd.Timestamp(t).strftime("%m-%d %H:%M"),
                    args=[{"visible": vis}, step_layouts[k]],
                )
            )
        fig.update_layout(
            sliders=[
                dict(
                    active=len(steps_t) - 1,
                    steps=steps,
                    y=-0.16,
                    yanchor="top",
                    currentvalue=dict(prefix="snapshot (UTC): "),
                    pad=dict(t=30),
                    font=dict(color=TEXT),
                )
            ]
        )
    return fig


# -------------------------------------------------------------------------------------- model comparison
def common_time(heatmap: pd.DataFrame, at=None) -> np.datetime64:
    """Latest snapshot time every model has (at or before ``at`` when given)."""
    sets = [set(g["time"].unique()) for _, g in heatmap.groupby("model")]
    common = sorted(set.intersection(*sets)) if sets else []
    if at is not None:
        at64 = np.datetime64(to_naive_utc(at, "at"), "ns")
        common = [t for t in common if t <= at64]
    if not common:
        raise ValueError("the models share no snapshot time" + (" at or before the requested time" if at else ""))
    return np.datetime64(common[-1], "ns")


def compare_models_figure(
    heatmap: pd.DataFrame, bars: pd.DataFrame, at=None, max_rows: int = 120, title: str = "Model comparison"
) -> go.Figure:
    """Side-by-side liquidation maps of each model (``model`` column) at one snapshot time, plus an
    agreement column: per bin, the smallest share (percent of each model's own total) across models."""
    t = common_time(heatmap, at)
    snap = heatmap[heatmap["time"] == t]
    models = sorted(snap["model"].unique())
    price = price_at(bars, t)
    lo, hi = snapshot_range(snap, price)
    profiles = {}
    for mname in models:
        rows = snap[snap["model"] == mname]
        profiles[mname] = level_profile(rows, t, price, max_rows=max_rows, price_range=(lo, hi))
    centers = profiles[models[0]].centers
    width = float(profiles[models[0]].edges[1] - profiles[models[0]].edges[0])
    shares = {}
    for mname, p in profiles.items():
        per_bin = p.long.sum(axis=0) + p.short.sum(axis=0)
        tot = per_bin.sum()
        shares[mname] = per_bin / tot * 100 if tot > 0 else per_bin * 0
    agreement = np.min(np.stack(list(shares.values())), axis=0)
    pairs = [(a, b, profile_overlap(shares[a], shares[b])) for i, a in enumerate(models) for b in models[i + 1 :]]
    overlap_all = float(agreement.sum()) / 100
    ncol = len(models) + 1
    fig = make_subplots(
        rows=1, cols=ncol, shared_yaxes=True, horizontal_spacing=0.02, subplot_titles=[*models, "agreement"]
    )
    dist = (centers / price - 1) * 1e4
    for c, mname in enumerate(models, start=1):
        p = profiles[mname]
        for side, arr in (("long", p.long.sum(axis=0)), ("short", p.short.sum(axis=0))):
            fig.add_trace(
                go.Bar(
                    x=arr,
                    y=centers,
                    orientation="h",
                    width=width * 0.9,
                    name=f"{side} liquidations",
                    legendgroup=side,
                    showlegend=c == 1,
                    marker=dict(color=SIDE_COLORS[side], line=dict(width=0)),
                    customdata=np.stack([dist, shares[mname]], axis=-1),
                    hovertemplate=(
                        f"{mname}: {side}<br>price %{{y:,.1f}} USDT<br>est. notional %{{x:,.0f}} USDT"
                        "<br>share %{customdata[1]:.2f}%<br>distance %{customdata[0]:+,.0f} bps<extra></extra>"
                    ),
                ),
                row=1,
                col=c,
            )
        fig.update_xaxes(title_text="est. notional (USDT)", tickformat="~s", row=1, col=c)
    fig.add_trace(
        go.Bar(
            x=agreement,
            y=centers,
            orientation="h",
            width=width * 0.9,
            name="agreement (min share)",
            marker=dict(color="#c792ea", line=dict(width=0)),
            customdata=dist,
            hovertemplate="agreement<br>price %{y:,.1f} USDT<br>min share %{x:.2f}%<br>distance %{customdata:+,.0f} bps"
            "<extra></extra>",
        ),
        row=1,
        col=ncol,
    )
    fig.update_xaxes(title_text="min share across models (%)", row=1, col=ncol)
    for c in range(1, ncol + 1):
        fig.add_hline(y=price, line=dict(color=LAST_PRICE, width=1.5, dash="dash"), row=1, col=c)
    pair_txt = ", ".join(f"{a} vs {b} {v:.2f}" for a, b, v in pairs)
    _layout(
        fig,
        f"{title} at {pd.Timestamp(t):%Y-%m-%d %H:%M} UTC (price {price:,.1f} USDT, red dashed)"
        f"<br><sup>bars: {NOTIONAL_NOTE}; agreement = profile overlap {overlap_all:.2f} "
        f"(1 = identical shape, 0 = disjoint); pairs: {pair_txt}</sup>",
        680,
    )
    fig.update_layout(
        barmode="stack",
        bargap=0.05,
        margin=dict(t=120, b=90),
        legend=dict(orientation="h", y=-0.12, yanchor="top", x=0, xanchor="left"),
    )
    fig.update_yaxes(title_text="price (USDT)", tickformat=",.0f", range=[lo, hi], row=1, col=1)
    return fig


# ---------------------------------------------------------------------------------------------- strategy
def strategy_figure(
    bars: pd.DataFrame, fills: pd.DataFrame | None, account: pd.DataFrame | None, stats: dict, title: str = "Strategy"
) -> go.Figure:
    """Equity (mark-to-market from fills and closes, and the account balance), drawdown, and a table of
    Nautilus's performance statistics."""
    start = float(account["balance"].iloc[0]) if account is not None and len(account) else 0.0
    eq = equity_curve(bars, fills, start)
    fig = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.66, 0.34],
        row_heights=[0.68, 0.32],
        vertical_spacing=0.06,
        horizontal_spacing=0.05,
        shared_xaxes=True,
        specs=[[{"type": "xy"}, {"type": "table", "rowspan": 2}], [{"type": "xy"}, None]],
    )
    fig.add_trace(
        go.Scatter(
            x=eq["ts"],
            y=eq["equity"],
            mode="lines",
            name="equity, mark-to-market",
            line=dict(color="#4fc3f7", width=1.8),
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>equity %{y:,.2f} USDT<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if account is not None and len(account):
        fig.add_trace(
            go.Scatter(
                x=account["ts"],
                y=account["balance"],
                mode="lines",
                line_shape="hv",
                name="account balance (realised)",
                line=dict(color="#ffd54f", width=1.2, dash="dot"),
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>balance %{y:,.2f} USDT<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=eq["ts"],
            y=eq["drawdown_pct"],
            mode="lines",
            fill="tozeroy",
            name="drawdown",
            line=dict(color="#ef5350", width=1),
            fillcolor="rgba(239,83,80,0.3)",
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>drawdown %{y:.2f}%<extra></extra>",
        ),
        row=2,
        col=1,
    )
    names, values = stats_rows(stats)
    if not names:
        names, values = ["(no statistics)"], ["stats.json missing or empty"]
    fig.add_trace(
        go.Table(
            columnwidth=[0.62, 0.38],
            header=dict(
                values=["Nautilus statistic", "value"],
                fill_color="#1b2230",
                font=dict(color=TEXT, size=12),
                align="left",
                line_color=GRID,
            ),
            cells=dict(
                values=[names, values],
                fill_color=PANEL_BG,
                font=dict(color=TEXT, size=11),
                align="left",
                line_color=GRID,
                height=22,
            ),
        ),
        row=1,
        col=2,
    )
    _layout(
        fig,
        f"{title}<br><sup>equity in USDT (fees included, funding not simulated); drawdown from the running peak</sup>",
        620,
    )
    fig.update_yaxes(title_text="equity (USDT)", tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(title_text="drawdown (%)", row=2, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=2, col=1)
    fig.update_layout(legend=dict(x=0, xanchor="left"), margin=dict(t=100))
    return fig


def stats_rows(stats: dict, prefix: str = "") -> tuple[list[str], list[str]]:
    """Flatten nested statistics to (name, formatted value) rows; floats get 4 significant decimals."""
    names: list[str] = []
    values: list[str] = []
    for key, val in stats.items():
        name = f"{prefix}{key}"
        if isinstance(val, dict):
            n, v = stats_rows(val, f"{name} · ")
            names += n
            values += v
        else:
            names.append(name)
            if isinstance(val, float):
                values.append("n/a" if not np.isfinite(val) else f"{val:,.4f}" if abs(val) < 1e6 else f"{val:,.0f}")
            else:
                values.append(str(val))
    return names, values


def figure_for_empty(message: str, title: str) -> go.Figure:
    """A small placeholder figure with a message (used where a panel has no data)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font=dict(size=14, color=TEXT)
    )
    _layout(fig, title, 200)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
