"""Nautilus layer, low level: LiquidationProximity catalog round-trip, config validation, and the actor on a
low-level BacktestEngine fed the real sample through the DuckDB path (snapshots equal the batch heatmap, events
equal the engine's proximity signals stepped outside Nautilus)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.data import BarType
from nautilus_trader.model.identifiers import InstrumentId

from liq_signals.errors import ConfigError
from liq_signals.nautilus.actor import (
    LiquidationSignalActor,
    LiquidationSignalActorConfig,
    OpenInterestMissingError,
)
from liq_signals.nautilus.data_types import LiquidationProximity

IID = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
BAR_TYPE = BarType.from_str("BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL")


# ------------------------------------------------------------------------------------------ data type


def test_liquidation_proximity_round_trips_through_catalog(tmp_path):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    events = [
        LiquidationProximity(
            1_700_000_000_000_000_000 + i * 900_000_000_000,
            1_700_000_000_000_000_000 + i * 900_000_000_000,
            instrument_id=IID,
            side=side,
            price_low=40000.0 + i,
            price_high=40050.0 + i,
            notional_usd=1.5e7 * (i + 1),
            distance_bps=12.5 * i,
            model="a",
            event=ev,
        )
        for i, (side, ev) in enumerate([("long", "entered"), ("short", "left"), ("long", "swept")])
    ]
    catalog = ParquetDataCatalog(str(tmp_path))
    catalog.write_data(events)
    back = catalog.query(LiquidationProximity)
    back = [getattr(b, "data", b) for b in back]
    assert [b.to_row() for b in back] == [e.to_row() for e in events]
    assert [b.ts_init for b in back] == [e.ts_init for e in events]


# ------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "z"}, "model"),
        ({"proximity_bps": -1.0}, "proximity_bps"),
        ({"min_cluster_notional": -5.0}, "min_cluster_notional"),
        ({"min_cluster_share": 1.5}, "min_cluster_share"),
        ({"bucket_floor_usd": float("nan")}, "bucket_floor_usd"),
        ({"engine": {"bucket_widht": 50}}, "bucket_widht"),
        ({"engine": {"model": "b"}}, "engine.model"),
        ({"engine": {"representative_notional_usd": -1.0}}, "representative_notional_usd"),
    ],
)
def test_actor_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kwargs)


def test_actor_config_is_importable_by_path():
    from nautilus_trader.common.config import ActorFactory, ImportableActorConfig

    actor = ActorFactory.create(
        ImportableActorConfig(
            actor_path="liq_signals.nautilus.actor:LiquidationSignalActor",
            config_path="liq_signals.nautilus.actor:LiquidationSignalActorConfig",
            config={"instrument_id": str(IID), "bar_type": str(BAR_TYPE), "proximity_bps": 75.0},
        )
    )
    assert isinstance(actor, LiquidationSignalActor)
    assert actor.config.proximity_bps == 75.0


# ------------------------------------------------------------------------------------------ low-level engine


def _engine(bars, oi, funding, actor, strategy=None):
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import ClientId, Venue
    from nautilus_trader.model.objects import Money

    from liq_signals.nautilus.instruments import binance_perpetual

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    engine.add_venue(
        Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=None,
        starting_balances=[Money(100_000, USDT)],
        default_leverage=Decimal(5),
    )
    engine.add_instrument(binance_perpetual("BTCUSDT"))
    # observations first: at equal timestamps the (stable) sort keeps them ahead of the bar they belong to
    if oi:
        engine.add_data(oi, client_id=ClientId("LIQ_SIGNALS"))
    if funding:
        engine.add_data(funding, client_id=ClientId("LIQ_SIGNALS"))
    engine.add_data(bars)
    engine.add_actor(actor)
    if strategy is not None:
        engine.add_strategy(strategy)
    return engine


@pytest.fixture(scope="module")
def sample(btc_month):
    """(inputs as the actor sees them, bars, open interest, funding as Nautilus objects) for the BTCUSDT month
    from the first open-interest observation on (the metrics file starts two days after the klines). Nautilus
    bars carry no taker volumes (``OpenInterest`` carries the metrics taker ratio, which the engine prefers),
    so the inputs' taker volume is blanked."""
    from dataclasses import replace

    from nautilus_trader.model.data import CustomData, DataType

    from liq_signals.backtest.catalog_export import bars_from_frame
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest
    from liq_signals.nautilus.instruments import binance_perpetual

    m = btc_month
    oi = m.open_interest[m.open_interest["open_interest"].notna()]
    t0 = int(oi["ts_ns"].iloc[0])
    bars = m.bars[m.bars["ts_ns"] >= t0].assign(taker_buy_volume=np.nan).reset_index(drop=True)
    funding = m.funding[m.funding["ts_ns"] >= t0].reset_index(drop=True)
    nt_bars = bars_from_frame(bars.rename(columns={"ts_ns": "ts"}), BAR_TYPE, binance_perpetual("BTCUSDT"))
    for col in ("open", "high", "low", "close"):  # the prices exactly as the actor receives them (tick-rounded)
        bars[col] = [getattr(b, col).as_double() for b in nt_bars]
    inputs = replace(m, bars=bars, open_interest=oi.reset_index(drop=True), funding=funding)
    nt_oi = [
        CustomData(
            DataType(OpenInterest),
            OpenInterest(t, t, instrument_id=IID, open_interest=v, open_interest_value=w, taker_ratio=r),
        )
        for t, v, w, r in zip(
            oi["ts_ns"].tolist(),
            oi["open_interest"].tolist(),
            oi["open_interest_value"].tolist(),
            oi["taker_ratio"].tolist(),
        )
    ]
    nt_funding = [
        CustomData(DataType(FundingRate), FundingRate(t, t, instrument_id=IID, rate=r, mark_price=p, interval_hours=8))
        for t, r, p in zip(funding["ts_ns"].tolist(), funding["rate"].tolist(), funding["mark_price"].tolist())
    ]
    return inputs, nt_bars, nt_oi, nt_funding


ACTOR_KW = dict(
    model="a",
    proximity_bps=60.0,
    bucket_floor_usd=3e6,
    min_cluster_notional=1e7,
    cooldown_bars=4,
    warmup_bars=96,
    heatmap_every=4,
)


@pytest.fixture(scope="module")
def low_level_run(sample):
    _, bars, oi, funding = sample
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **ACTOR_KW))
    engine = _engine(bars, oi, funding, actor)
    engine.run()
    yield actor
    engine.dispose()


@pytest.fixture(scope="module", params=["a", "b", "ensemble"])
def model_run(request, sample, low_level_run):
    if request.param == "a":
        return low_level_run
    _, bars, oi, funding = sample
    kw = dict(ACTOR_KW, model=request.param)
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kw))
    engine = _engine(bars, oi, funding, actor)
    engine.run()
    engine.dispose()
    return actor


def test_low_level_actor_snapshots_equal_batch_heatmap(sample, model_run):
    """One source of truth: the actor's hourly snapshots equal ``run_heatmap`` on the same inputs (models
    a, b with funding, and the ensemble)."""
    from liq_signals.engine.batch import run_heatmap

    inputs = sample[0]
    actor = model_run
    assert len(actor.events) > 0
    hm_actor = actor.heatmap_frame()
    assert len(hm_actor) > 1000 and actor.oi_seen == len(inputs.open_interest)
    times = sorted(hm_actor["time"].unique())
    assert all(t.minute == 0 for t in times)  # heatmap_every=4 x 15 min on the epoch grid = whole hours
    cfg = actor.indicator.engine_config
    batch = run_heatmap(inputs, cfg, start=times[0], end=times[-1], every="1h").to_frame()
    assert sorted(batch["time"].unique()) == times
    grid = cfg.grid()
    closes = inputs.bars.set_index(pd.to_datetime(inputs.bars["ts_ns"], unit="ns", utc=True))["close"]
    key = ["time", "side", "tier", "price_low"]
    for t in times[:: max(1, len(times) // 40)]:  # ~40 snapshots spread over the month
        edges = grid.edges_around(float(closes[t]), cfg.grid_range_fraction)
        a = hm_actor[hm_actor["time"] == t].sort_values(key, ignore_index=True)
        b = batch[
            (batch["time"] == t) & (batch["price_low"] >= edges[0] - 1e-9) & (batch["price_high"] <= edges[-1] + 1e-9)
        ]
        b = b.sort_values(key, ignore_index=True)
        assert len(a) == len(b), t
        np.testing.assert_array_equal(a["price_low"].to_numpy(), b["price_low"].to_numpy())
        np.testing.assert_array_equal(a["side"].to_numpy(), b["side"].to_numpy())
        # the batch heatmap stores float32: the actor's float64 cells round to exactly those values
        np.testing.assert_array_equal(a["notional_usd"].to_numpy().astype(np.float32), b["notional_usd"].to_numpy())


def test_low_level_events_are_consistent_with_their_thresholds(low_level_run):
    ev = low_level_run.events_frame()
    assert set(ev["event"]) <= {"entered", "touched", "swept", "left"} and (ev["event"] == "entered").sum() > 0
    entered = ev[ev["event"] == "entered"]
    assert (entered["distance_bps"] <= ACTOR_KW["proximity_bps"]).all()
    assert (entered["notional_usd"] >= ACTOR_KW["min_cluster_notional"]).all()
    # per side the events alternate: entered, then an exit (touched, swept or left), then entered ...
    for side, g in ev.groupby("side"):
        kinds = g["event"].tolist()
        assert all((k == "entered") == (i % 2 == 0) for i, k in enumerate(kinds)), side
    assert low_level_run.signals_published == len(ev)


def test_missing_open_interest_fails_with_clear_message(sample):
    _, bars, _, funding = sample
    actor = LiquidationSignalActor(
        LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, open_interest_timeout_bars=8, **ACTOR_KW)
    )
    engine = _engine(bars[:50], [], funding[:3], actor)
    with pytest.raises(OpenInterestMissingError, match="no OpenInterest for BTCUSDT-PERP.BINANCE after 8 bars"):
        engine.run()
    engine.dispose()


def test_actor_events_equal_the_engine_signals_outside_nautilus(sample, low_level_run):
    """One source of truth: the actor publishes exactly the events ``ProximitySignals`` finds when the engine
    is stepped over the same inputs by the batch feeder, without Nautilus."""
    from liq_signals.engine.engine import LiquidationEngine
    from liq_signals.engine.feeder import InputFeeder
    from liq_signals.engine.signals import ProximitySignals

    inputs = sample[0]
    cfg = low_level_run.config
    engine = LiquidationEngine(cfg.engine_config())
    feeder = InputFeeder(inputs, engine)
    signals = ProximitySignals(cfg.proximity_config())
    expected = []
    for n, bar in enumerate(inputs.bars.itertuples(index=False), start=1):
        feeder.step()
        warm = n >= cfg.warmup_bars and engine.initialized
        for ev in signals.on_bar(engine, bar.ts_ns, bar.high, bar.low, bar.close, warm):
            c = ev.cluster
            expected.append((ev.ts_ns, c.side, c.price_low, c.price_high, c.notional_usd, c.distance_bps, ev.event))
    published = [
        (e.ts_event, e.side, e.price_low, e.price_high, e.notional_usd, e.distance_bps, e.event)
        for e in low_level_run.events
    ]
    assert len(published) > 10 and published == expected


def test_published_events_persist_to_the_configured_catalog(sample, tmp_path):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    _, bars, oi, funding = sample
    kw = dict(ACTOR_KW, heatmap_every=0, catalog_path=str(tmp_path / "events"))
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kw))
    engine = _engine(bars[:1500], oi, funding, actor)
    engine.run()
    published = [e.to_row() for e in actor.events]
    engine.dispose()
    back = ParquetDataCatalog(str(tmp_path / "events")).query(LiquidationProximity)
    assert len(published) > 5 and [getattr(b, "data", b).to_row() for b in back] == published


@settings(max_examples=60, deadline=None)
@given(
    event=st.sampled_from(["entered", "touched", "swept", "left"]),
    side=st.sampled_from(["long", "short"]),
    low=st.floats(0.01, 1e6),
    width=st.floats(0.0, 1e4),
    notional=st.floats(0.0, 1e11),
    distance=st.floats(0.0, 1e4),
)
def test_signal_value_parses_back_to_its_fields(event, side, low, width, notional, distance):
    from liq_signals.nautilus.data_types import ProximitySignal

    sig = ProximitySignal(event, side, low, low + width, notional, distance)
    back = ProximitySignal.parse(sig.to_value())
    assert (back.event, back.side) == (event, side)
    # rounded as documented: prices to 0.01, notional to 1 USDT, distance to 0.1 bps
    assert abs(back.price_low - low) <= 0.005 + 1e-9 * low and abs(back.price_high - (low + width)) <= 0.005 + 1e-9 * (
        low + width
    )
    assert (
        abs(back.notional_usd - notional) <= 0.5 + 1e-12 * notional and abs(back.distance_bps - distance) <= 0.05 + 1e-9
    )


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("entered|long|1|2|3", "6"),
        ("jumped|long|1|2|3|4", "event"),
        ("left|up|1|2|3|4", "side"),
        ("left|long|1|x|3|4", "price_high"),
    ],
)
def test_bad_signal_values_name_what_is_wrong(value, word):
    from liq_signals.nautilus.data_types import ProximitySignal

    with pytest.raises(ValueError, match=word):
        ProximitySignal.parse(value)
