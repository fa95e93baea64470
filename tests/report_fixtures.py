"""Build a run directory for report tests from the shipped real BTCUSDT 15-minute sample.

The bars are real; the heatmap rows are synthesised here (positions opened at each bar close with a fixed
leverage mix, liquidation prices from the isolated leverage formula with MMR 0.4%, levels removed when a
bar trades through them), and the fills/positions/orders/account CSVs use the exact column layouts of
Nautilus 1.221 ``trader.generate_*_report()`` written with ``DataFrame.to_csv``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from liq_signals.backtest.run_dir import RunConfigRecord, Summary

SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"
BARS_CSV = SAMPLE / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
TIERS = (5, 10, 25, 50, 100)
TIER_WEIGHTS = (0.15, 0.3, 0.25, 0.2, 0.1)
MMR = 0.004
BUCKET = 50.0  # USDT

FILLS_COLUMNS = [
    "client_order_id",
    "trader_id",
    "strategy_id",
    "instrument_id",
    "venue_order_id",
    "account_id",
    "trade_id",
    "position_id",
    "order_side",
    "order_type",
    "last_qty",
    "last_px",
    "currency",
    "commission",
    "liquidity_side",
    "event_id",
    "ts_event",
    "ts_init",
    "info",
    "reconciliation",
]
POSITIONS_COLUMNS = [
    "position_id",
    "trader_id",
    "strategy_id",
    "instrument_id",
    "account_id",
    "opening_order_id",
    "closing_order_id",
    "entry",
    "side",
    "quantity",
    "peak_qty",
    "ts_init",
    "ts_opened",
    "ts_last",
    "ts_closed",
    "duration_ns",
    "avg_px_open",
    "avg_px_close",
    "commissions",
    "realized_return",
    "realized_pnl",
    "is_snapshot",
]


def real_bars(n: int | None = None) -> pd.DataFrame:
    """Real BTCUSDT 15m bars (ts = open time, naive UTC)."""
    raw = pd.read_csv(BARS_CSV)
    if n is not None:
        raw = raw.iloc[:n]
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(raw["open_time"], unit="ms"),
            "open": raw["open"].astype(float),
            "high": raw["high"].astype(float),
            "low": raw["low"].astype(float),
            "close": raw["close"].astype(float),
            "volume": raw["volume"].astype(float),
        }
    )


def synth_heatmap(
    bars: pd.DataFrame,
    every: int = 4,
    share: float = 0.05,
    models: tuple[str, ...] = ("demo",),
) -> pd.DataFrame:
    """Long-format heatmap rows (time, side, tier, price_low, price_high, notional_usd[, model]), one
    snapshot every ``every`` bars; each model scales leverage differently so the maps differ."""
    frames = []
    for mi, model in enumerate(models):
        ep_all = bars["close"].to_numpy()
        notional_all = bars["volume"].to_numpy() * ep_all * share
        side_l, tier_l, lp_l, n_l = [], [], [], []
        rows = []
        for i in range(len(bars)):
            hi, lo = bars["high"].iat[i], bars["low"].iat[i]
            if side_l:
                s, t, lp, n = map(np.asarray, (side_l, tier_l, lp_l, n_l))
                alive = ~(((s > 0) & (lo <= lp)) | ((s < 0) & (hi >= lp)))
                alive &= n > 1.0
                n = n * np.where(t >= 50, 0.97, 0.995)  # decay, high leverage short-lived
                side_l, tier_l, lp_l, n_l = [list(a[alive]) for a in (s, t, lp, n)]
            ep, notional = ep_all[i], notional_all[i]
            for t, w in zip(TIERS, TIER_WEIGHTS):
                lev = t * (1 + 0.25 * mi)
                for side in (1, -1):
                    lp = ep * (1 - 1 / lev) / (1 - MMR) if side > 0 else ep * (1 + 1 / lev) / (1 + MMR)
                    side_l.append(side), tier_l.append(t), lp_l.append(lp), n_l.append(notional * w / 2)
            if i % every == every - 1:
                s, t, lp, n = map(np.asarray, (side_l, tier_l, lp_l, n_l))
                b = np.floor(lp / BUCKET) * BUCKET
                df = pd.DataFrame(
                    {"side": np.where(s > 0, "long", "short"), "tier": t, "price_low": b, "notional_usd": n}
                )
                df = df.groupby(["side", "tier", "price_low"], as_index=False)["notional_usd"].sum()
                df["price_high"] = df["price_low"] + BUCKET
                df["time"] = bars["ts"].iat[i] + pd.Timedelta(minutes=15)
                rows.append(df)
        out = pd.concat(rows, ignore_index=True)
        if len(models) > 1:
            out["model"] = model
        frames.append(out)
    cols = ["time", "side", "tier", "price_low", "price_high", "notional_usd"] + (["model"] if len(models) > 1 else [])
    return pd.concat(frames, ignore_index=True)[cols]


def synth_events(bars: pd.DataFrame, heatmap: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """Proximity events around the ``n`` largest clusters that price later swept (entered, then swept)."""
    last = heatmap["time"].max()
    snaps = sorted(heatmap["time"].unique())
    out = []
    for t in snaps[5 :: max(1, len(snaps) // n)]:
        snap = (
            heatmap[heatmap["time"] == t]
            .groupby(["side", "price_low", "price_high"], as_index=False)["notional_usd"]
            .sum()
        )
        px = bars.loc[bars["ts"] < t, "close"].iloc[-1]
        for side in ("long", "short"):
            s = snap[snap["side"] == side]
            near = s.iloc[(np.abs(s["price_low"] - px)).argsort()[:1]]
            for _, r in near.iterrows():
                dist = abs((r["price_high"] if side == "long" else r["price_low"]) / px - 1) * 1e4
                out.append(
                    dict(
                        ts=pd.Timestamp(t).tz_localize("UTC").isoformat(),
                        side=side,
                        price_low=r["price_low"],
                        price_high=r["price_high"],
                        notional_usd=r["notional_usd"],
                        distance_bps=dist,
                        model="demo",
                        event="entered",
                    )
                )
                later = bars[(bars["ts"] > t) & (bars["ts"] < last)]
                hit = (
                    later[later["low"] <= r["price_low"]] if side == "long" else later[later["high"] >= r["price_high"]]
                )
                ev_t = hit["ts"].iloc[0] if len(hit) else later["ts"].iloc[min(8, len(later) - 1)]
                out.append(
                    dict(
                        ts=pd.Timestamp(ev_t).tz_localize("UTC").isoformat(),
                        side=side,
                        price_low=r["price_low"],
                        price_high=r["price_high"],
                        notional_usd=r["notional_usd"],
                        distance_bps=0.0,
                        model="demo",
                        event="swept" if len(hit) else "left",
                    )
                )
    return pd.DataFrame(out)


def _dt(ts) -> str:
    return str(pd.Timestamp(ts).tz_localize("UTC"))


def synth_trades(
    bars: pd.DataFrame,
    start_balance: float = 10_000.0,
    qty: float = 0.1,
    fee_rate: float = 0.0004,
    hold: int = 12,
    gap: int = 40,
):
    """Round trips (alternating long/short) at bar closes -> (fills, positions, orders, account) frames in
    Nautilus report layouts, plus the list of (open_i, close_i, side)."""
    fills, positions, orders, account = [], [], [], []
    balance = start_balance
    account.append(
        dict(
            ts=_dt(bars["ts"].iat[0]),
            total=f"{balance:.8f}",
            locked="0",
            free=f"{balance:.8f}",
            currency="USDT",
            account_id="BINANCE-001",
            account_type="MARGIN",
            base_currency="",
            margins="[]",
            reported=True,
            info="{}",
        )
    )
    trips = []
    k = 0
    for i0 in range(10, len(bars) - hold - 1, gap):
        i1 = i0 + hold
        long = k % 2 == 0
        trips.append((i0, i1, "LONG" if long else "SHORT"))
        px0, px1 = bars["close"].iat[i0], bars["close"].iat[i1]
        t0, t1 = bars["ts"].iat[i0], bars["ts"].iat[i1]
        o0, o1 = f"O-{k:04d}-1", f"O-{k:04d}-2"
        f0, f1 = qty * px0 * fee_rate, qty * px1 * fee_rate
        pid = f"BTCUSDT-PERP.BINANCE-S-000-{k:04d}"
        for oid, side, px, fee, t in (
            (o0, "BUY" if long else "SELL", px0, f0, t0),
            (o1, "SELL" if long else "BUY", px1, f1, t1),
        ):
            fills.append(
                dict(
                    client_order_id=oid,
                    trader_id="BACKTESTER-001",
                    strategy_id="S-000",
                    instrument_id="BTCUSDT-PERP.BINANCE",
                    venue_order_id=f"V-{oid}",
                    account_id="BINANCE-001",
                    trade_id=f"T-{oid}",
                    position_id=pid,
                    order_side=side,
                    order_type="MARKET",
                    last_qty=f"{qty:.3f}",
                    last_px=px,
                    currency="USDT",
                    commission=f"{fee:.8f} USDT",
                    liquidity_side="TAKER",
                    event_id=f"e-{oid}",
                    ts_event=_dt(t),
                    ts_init=_dt(t),
                    info="{}",
                    reconciliation=False,
                )
            )
            orders.append(
                dict(
                    client_order_id=oid, side=side, is_reduce_only=oid == o1, status="FILLED", avg_px=px, filled_qty=qty
                )
            )
        pnl = (px1 - px0) * qty * (1 if long else -1) - f0 - f1
        balance += pnl
        positions.append(
            dict(
                position_id=pid,
                trader_id="BACKTESTER-001",
                strategy_id="S-000",
                instrument_id="BTCUSDT-PERP.BINANCE",
                account_id="BINANCE-001",
                opening_order_id=o0,
                closing_order_id=o1,
                entry="BUY" if long else "SELL",
                side="FLAT",
                quantity="0.000",
                peak_qty=f"{qty:.3f}",
                ts_init=0,
                ts_opened=_dt(t0),
                ts_last=0,
                ts_closed=_dt(t1),
                duration_ns=int((t1 - t0).value),
                avg_px_open=px0,
                avg_px_close=px1,
                commissions=f"['{f0 + f1:.8f} USDT']",
                realized_return=0.0,
                realized_pnl=f"{pnl:.8f} USDT",
                is_snapshot=False,
            )
        )
        account.append(
            dict(
                ts=_dt(t0),
                total=f"{balance - pnl - f0:.8f}",
                locked="0",
                free="0",
                currency="USDT",
                account_id="BINANCE-001",
                account_type="MARGIN",
                base_currency="",
                margins="[]",
                reported=False,
                info="{}",
            )
        )  # after the entry fee
        account.append(
            dict(
                ts=_dt(t1),
                total=f"{balance:.8f}",
                locked="0",
                free="0",
                currency="USDT",
                account_id="BINANCE-001",
                account_type="MARGIN",
                base_currency="",
                margins="[]",
                reported=False,
                info="{}",
            )
        )
        k += 1
    acc = pd.DataFrame(account).set_index("ts")
    acc.index.name = None
    return (
        pd.DataFrame(fills)[FILLS_COLUMNS],
        pd.DataFrame(positions)[POSITIONS_COLUMNS],
        pd.DataFrame(orders),
        acc,
        trips,
        balance,
    )


def build_run_dir(
    root: Path,
    n_bars: int | None = 700,
    models: tuple[str, ...] = ("demo",),
    every: int = 4,
    with_strategy: bool = True,
) -> Path:
    """Write a complete run directory under ``root`` and return it."""
    bars = real_bars(n_bars)
    run = Path(root) / "run-test"
    run.mkdir(parents=True, exist_ok=True)
    bars.assign(ts=bars["ts"].dt.tz_localize("UTC")).to_parquet(run / "bars.parquet", index=False)
    hm = synth_heatmap(bars, every=every, models=models)
    hm.assign(time=hm["time"].dt.tz_localize("UTC")).to_parquet(run / "heatmap.parquet", index=False)
    main = hm[hm["model"] == models[0]] if "model" in hm.columns else hm
    synth_events(bars, main).to_csv(run / "proximity_events.csv", index=False)
    pnl_total = 0.0
    if with_strategy:
        fills, positions, orders, account, _, end_balance = synth_trades(bars)
        fills.to_csv(run / "fills.csv", index=False)
        positions.to_csv(run / "positions.csv", index=False)
        orders.to_csv(run / "orders.csv", index=False)
        account.to_csv(run / "account.csv")
        pnl_total = end_balance - 10_000.0
        stats = {
            "pnls": {"USDT": {"PnL (total)": pnl_total, "Win Rate": 0.5}},
            "returns": {"Sharpe Ratio (252 days)": 1.2, "Profit Factor": 1.1},
            "general": {"Long Ratio": 0.5},
        }
        (run / "stats.json").write_text(json.dumps(stats))
    # run_config.json / summary.json through the run-directory contract the harness writes with
    record = RunConfigRecord(
        run_id="run-test",
        model=models[0],
        settings={"instrument": "BTCUSDT-PERP.BINANCE"},
        engine={"bucket_width": BUCKET, "leverage_mix": dict(zip(map(str, TIERS), TIER_WEIGHTS))},
        brackets={"snapshot": "binance-usdm-2021-03-18", "effective_from": "2021-03-18"},
        data_sources={"catalog": "liq_signals/sample_data/btcusdt-2023-11 (Binance USD-M 15m klines)"},
    )
    (run / "run_config.json").write_text(json.dumps(record.to_dict()))
    summary = Summary(
        run_id="run-test",
        instrument="BTCUSDT-PERP.BINANCE",
        start=str(bars["ts"].iat[0]),
        end=str(bars["ts"].iat[-1]),
        bars=len(bars),
        signals_published=24,
        orders=13,
        orders_rejected=1,
        orders_denied=2,
        fills=10,
        pnl_total=pnl_total,
        wall_seconds=1.5,
    )
    (run / "summary.json").write_text(json.dumps(summary.to_dict()))
    return run
