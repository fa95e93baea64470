"""Benchmark: bare Nautilus bar replay vs the same with the liquidation indicator, actor (+ strategy).

Data: the shipped BTCUSDT 15-minute sample expanded to 1-minute bars (each 15-minute bar becomes 15
one-minute bars walking open → low/high → close; volume split evenly), repeated with a price drift so
the series keeps moving, plus the real 5-minute open interest repeated on the same schedule and the
8-hourly funding. Default 210,000 bars (~146 days). All runs happen in one process with logging bypassed
(Nautilus initialises logging once per process); peak memory is the process's ru_maxrss after each run
(monotone, so the later, heavier runs are the ones it measures).

Run: uv run python benchmarks/bench_nautilus.py [--bars 210000]
"""

from __future__ import annotations

import argparse
import resource
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

MIN_NS = 60 * 10**9


def sample_frames():
    """The shipped BTCUSDT month through the DuckDB path (ingested into a temporary file): bars (ts = close,
    ns), open interest (ts observed, oi base, oi_value USDT; missing rows dropped), funding (ts, rate, mark)."""
    import tempfile
    from types import SimpleNamespace

    from liq_signals.data.ingest import ingest_paths
    from liq_signals.data.reader import load_market_inputs

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sample.duckdb"
        ingest_paths([Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"], db)
        m = load_market_inputs(db, "BTCUSDT", interval="15m")
    oi = m.open_interest[m.open_interest["open_interest"].notna()]
    oi = oi.rename(columns={"ts_ns": "ts", "open_interest": "oi", "open_interest_value": "oi_value"})
    return SimpleNamespace(
        bars=m.bars.rename(columns={"ts_ns": "ts"}),
        oi=oi.reset_index(drop=True),
        funding=m.funding.rename(columns={"ts_ns": "ts"}),
    )


def one_minute_frames(n_bars: int):
    """(bars frame ts/open/high/low/close/volume, oi frame ts/oi/oi_value, funding frame ts/rate/mark_price)."""
    f = sample_frames()
    b = f.bars[f.bars["ts"] >= f.oi["ts"].iloc[0]].reset_index(drop=True)  # where OI exists
    o, h, l, c, v = (b[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    # a 15-step path per bar: open → (low then high if the bar rose, else high then low) → close
    path = np.empty((len(b), 16))
    up = c >= o
    first = np.where(up, l, h)
    second = np.where(up, h, l)
    knots_x = np.array([0, 5, 10, 15])
    for i in range(len(b)):
        path[i] = np.interp(np.arange(16), knots_x, [o[i], first[i], second[i], c[i]])
    opens, closes = path[:, :-1].ravel(), path[:, 1:].ravel()
    highs, lows = np.maximum(opens, closes), np.minimum(opens, closes)
    for i in range(len(b)):  # the true extremes sit inside their minute bars
        seg = slice(i * 15, i * 15 + 15)
        highs[seg] = np.minimum(highs[seg], h[i])
        highs[i * 15 + int(np.argmax(path[i, 1:]))] = h[i]
        lows[i * 15 + int(np.argmin(path[i, 1:]))] = l[i]
    vols = np.repeat(v / 15.0, 15)
    period = len(opens)
    reps = -(-n_bars // period)
    t0 = int(b["ts"].iloc[0]) - 15 * MIN_NS
    ts = t0 + MIN_NS * np.arange(1, reps * period + 1, dtype=np.int64)
    drift = np.repeat(np.arange(reps) * (c[-1] - o[0]), period)  # continue from where the last copy ended
    bars = pd.DataFrame(
        {
            "ts": ts,
            "open": np.tile(opens, reps) + drift,
            "high": np.tile(highs, reps) + drift,
            "low": np.tile(lows, reps) + drift,
            "close": np.tile(closes, reps) + drift,
            "volume": np.tile(vols, reps),
        }
    ).iloc[:n_bars]
    span = period * MIN_NS
    oi_rel = f.oi["ts"].to_numpy() - t0
    oi_rel = oi_rel[(oi_rel > 0) & (oi_rel <= span)]
    oi_rows = f.oi[(f.oi["ts"] - t0 > 0) & (f.oi["ts"] - t0 <= span)]
    price_scale = np.tile(oi_rows["oi_value"].to_numpy() / oi_rows["oi"].to_numpy(), reps)
    oi_drift = np.repeat(np.arange(reps) * (c[-1] - o[0]), len(oi_rel))
    oi = pd.DataFrame(
        {
            "ts": t0 + np.concatenate([oi_rel + k * span for k in range(reps)]),
            "oi": np.tile(oi_rows["oi"].to_numpy(), reps),
        }
    )
    oi["oi_value"] = oi["oi"] * (price_scale + oi_drift)
    oi = oi[oi["ts"] <= bars["ts"].iloc[-1]]
    fu_rows = f.funding[(f.funding["ts"] - t0 > 0) & (f.funding["ts"] - t0 <= span)]
    funding = pd.DataFrame(
        {
            "ts": t0 + np.concatenate([(fu_rows["ts"].to_numpy() - t0) + k * span for k in range(reps)]),
            "rate": np.tile(fu_rows["rate"].to_numpy(), reps),
            "mark_price": np.tile(fu_rows["mark_price"].to_numpy(), reps),
        }
    )
    funding = funding[funding["ts"] <= bars["ts"].iloc[-1]]
    return bars, oi.reset_index(drop=True), funding.reset_index(drop=True)


def nautilus_data(bars_df, oi_df, fu_df, instrument, bar_type):
    from nautilus_trader.model.data import CustomData, DataType
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    df = bars_df[["open", "high", "low", "close", "volume"]].copy()
    df.index = pd.to_datetime(bars_df["ts"].to_numpy(), unit="ns", utc=True)
    bars = BarDataWrangler(bar_type, instrument).process(df)
    iid = instrument.id
    oi = [
        CustomData(
            DataType(OpenInterest),
            OpenInterest(int(t), int(t), instrument_id=iid, open_interest=float(a), open_interest_value=float(b)),
        )
        for t, a, b in zip(oi_df["ts"], oi_df["oi"], oi_df["oi_value"])
    ]
    fu = [
        CustomData(
            DataType(FundingRate),
            FundingRate(int(t), int(t), instrument_id=iid, rate=float(r), mark_price=float(p), interval_hours=8),
        )
        for t, r, p in zip(fu_df["ts"], fu_df["rate"], fu_df["mark_price"])
    ]
    return bars, oi, fu


def feeder_class():
    """An actor that only keeps a ``LiquidationClusterIndicator`` up to date (no signal work): the engine's
    own cost inside Nautilus."""
    from nautilus_trader.common.actor import Actor
    from nautilus_trader.model.data import DataType

    from liq_signals.engine.engine import EngineConfig
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest
    from liq_signals.nautilus.indicator import LiquidationClusterIndicator

    class IndicatorFeeder(Actor):
        def __init__(self, bar_type):
            super().__init__()
            self.bar_type = bar_type
            self.indicator = LiquidationClusterIndicator(EngineConfig(symbol="BTCUSDT", model="a"))

        def on_start(self):
            self.register_indicator_for_bars(self.bar_type, self.indicator)
            self.subscribe_data(DataType(OpenInterest))
            self.subscribe_data(DataType(FundingRate))
            self.subscribe_bars(self.bar_type)

        def on_data(self, data):
            if isinstance(data, (OpenInterest, FundingRate)):
                self.indicator.observe(data.to_observation())

    return IndicatorFeeder


def run(
    label, bars, oi, fu, instrument, bar_type, with_actor: bool, with_strategy: bool, indicator_only: bool = False
) -> dict:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import ClientId, Venue
    from nautilus_trader.model.objects import Money

    from liq_signals.nautilus.actor import LiquidationSignalActor, LiquidationSignalActorConfig
    from liq_signals.nautilus.strategies.avoid import LiquidationAvoidConfig, LiquidationAvoidStrategy

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    engine.add_venue(
        Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=None,
        starting_balances=[Money(1_000_000, USDT)],
        default_leverage=Decimal(5),
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    engine.add_data(oi, client_id=ClientId("LIQ_SIGNALS"))
    engine.add_data(fu, client_id=ClientId("LIQ_SIGNALS"))
    actor = None
    if indicator_only:
        engine.add_actor(feeder_class()(bar_type))
    if with_actor:
        actor = LiquidationSignalActor(
            LiquidationSignalActorConfig(
                instrument_id=instrument.id,
                bar_type=bar_type,
                model="a",
                proximity_bps=50,
                bucket_floor_usd=1_000_000,
                min_cluster_notional=10_000_000,
                cooldown_bars=60,
                warmup_bars=1440,
                heatmap_every=60,
            )
        )
        engine.add_actor(actor)
    if with_strategy:
        engine.add_strategy(
            LiquidationAvoidStrategy(
                LiquidationAvoidConfig(
                    instrument_id=instrument.id,
                    bar_type=bar_type,
                    trade_size=Decimal("0.5"),
                    fast_ema_period=60,
                    slow_ema_period=240,
                )
            )
        )
    t0 = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - t0
    out = {
        "label": label,
        "wall_s": wall,
        "bars_per_s": len(bars) / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "events": len(actor.events) if actor else 0,
        "orders": len(engine.cache.orders()),
        "event_rows": event_rows(actor.events) if actor else [],
    }
    engine.dispose()
    return out


REFERENCE_EVENTS = Path(__file__).with_name("reference-events-210k.csv.gz")
EVENTS_HEADER = "ts_ns,event,side,price_low,price_high,notional_usd,distance_bps"


def event_rows(events) -> list[str]:
    """Published events as CSV rows with every float written exactly (repr)."""
    return [
        f"{e.ts_event},{e.event},{e.side},{e.price_low!r},{e.price_high!r},{e.notional_usd!r},{e.distance_bps!r}"
        for e in events
    ]


def events_identical(rows: list[str]) -> bool:
    """True when ``rows`` equal the reference event list of the default 210k-bar actor run, kept in
    ``benchmarks/`` (written by ``--write-reference`` from a run of the engine it pins)."""
    import gzip

    with gzip.open(REFERENCE_EVENTS, "rt") as f:
        return f.read().splitlines() == [EVENTS_HEADER, *rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=210_000, help="number of 1-minute bars (>= 200000 for the report)")
    ap.add_argument("--skip-demo", action="store_true", help="do not time the demo")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    ap.add_argument(
        "--write-reference",
        action="store_true",
        help="write the actor run's events as the reference list (only when the engine's output is meant to change)",
    )
    args = ap.parse_args()

    from nautilus_trader.model.data import BarType

    from liq_signals.nautilus.instruments import binance_perpetual

    t = time.perf_counter()
    bars_df, oi_df, fu_df = one_minute_frames(args.bars)
    instrument = binance_perpetual("BTCUSDT")
    bar_type = BarType.from_str("BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL")
    bars, oi, fu = nautilus_data(bars_df, oi_df, fu_df, instrument, bar_type)
    print(
        f"data: {len(bars):,} 1-min bars, {len(oi):,} OI, {len(fu):,} funding "
        f"({pd.Timestamp(bars_df.ts.iloc[0], unit='ns')} → {pd.Timestamp(bars_df.ts.iloc[-1], unit='ns')}), "
        f"built in {time.perf_counter() - t:.1f} s"
    )
    results = [
        run("bare (bars + OI replay, no components)", bars, oi, fu, instrument, bar_type, False, False),
        run("indicator only (engine updates, no signals)", bars, oi, fu, instrument, bar_type, False, False, True),
        run("actor + indicator", bars, oi, fu, instrument, bar_type, True, False),
        run("avoid strategy alone (no signals)", bars, oi, fu, instrument, bar_type, False, True),
        run("actor + indicator + avoid strategy", bars, oi, fu, instrument, bar_type, True, True),
    ]
    base = {r["label"]: r["wall_s"] for r in results}
    bare, strat = base[results[0]["label"]], base[results[3]["label"]]
    against = [bare, bare, bare, bare, strat]
    print(
        f"{'run':42s} {'wall s':>8s} {'bars/s':>10s} {'peak RSS MB':>12s} {'vs bare':>8s} {'overhead':>9s} "
        f"{'events':>7s} {'orders':>7s}"
    )
    for r, ref in zip(results, against):
        print(
            f"{r['label']:42s} {r['wall_s']:8.2f} {r['bars_per_s']:10,.0f} {r['peak_rss_mb']:12,.0f} "
            f"{r['wall_s'] / bare:8.2f} {r['wall_s'] / ref:9.2f} {r['events']:7d} {r['orders']:7d}"
        )
    print("overhead = wall / the same run without actor + indicator (bare, or the strategy alone)")
    rows = results[2]["event_rows"]
    if args.write_reference:
        import gzip

        with gzip.open(REFERENCE_EVENTS, "wt") as f:
            f.write("\n".join([EVENTS_HEADER, *rows]) + "\n")
    same = args.bars == 210_000 and events_identical(rows)
    print(
        f"actor events: {len(rows):,}; identical to {REFERENCE_EVENTS.name}: {same}"
        + ("" if args.bars == 210_000 else " (only compared at the default 210,000 bars)")
    )
    demo_s = None
    if not args.skip_demo:
        demo_s = demo_seconds()
        print(f"demo end-to-end (ingest + catalog + backtest + report, fresh folder): {demo_s:.1f} s")
    if args.json:
        import json

        print(
            json.dumps(
                {
                    "bars": len(bars),
                    "bare_s": results[0]["wall_s"],
                    "indicator_s": results[1]["wall_s"],
                    "actor_indicator_s": results[2]["wall_s"],
                    "strategy_s": results[3]["wall_s"],
                    "actor_indicator_strategy_s": results[4]["wall_s"],
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                    "events": len(rows),
                    "events_identical": same,
                    "demo_s": demo_s,
                }
            )
        )


def demo_seconds() -> float:
    """Wall time of the README's main command flow (``run_demo``) in a fresh temporary folder."""
    import tempfile
    from pathlib import Path

    from liq_signals.backtest.demo import DEFAULT_CONFIG, run_demo
    from liq_signals.report.run_report import write_run_report

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        run_demo(
            DEFAULT_CONFIG,
            tmp / "backtests",
            tmp / "data" / "liq_signals.duckdb",
            catalog=tmp / "catalog",
            note=lambda *_: None,
            finish=write_run_report,
        )
        return time.perf_counter() - t


if __name__ == "__main__":
    main()
