"""DuckDB → Nautilus catalog export: counts, timestamps, values, specs, idempotency, replay in a backtest.

Expected values come from the DuckDB rows (independent SQL) and from Binance's published contract specs
and the shipped bracket table, never from what the exporter printed.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

import liq_signals
from liq_signals.errors import LiqSignalsError

BRACKETS = Path(liq_signals.__file__).parent / "engine" / "brackets_data" / "binance-usdm-2025-08-19.json"
IID = "BTCUSDT-PERP.BINANCE"
BAR_TYPE = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
MIN15_NS = 15 * 60 * 10**9


def _db_rows(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def db(btc_db) -> Path:
    """The shipped BTCUSDT 2023-11 sample (klines 15m, metrics, fundingRate) in DuckDB (read only)."""
    return btc_db


@pytest.fixture(scope="module")
def catalog_dir(db, tmp_path_factory) -> Path:
    from liq_signals.backtest.catalog_export import export_catalog

    path = tmp_path_factory.mktemp("catalog") / "cat"
    export_catalog(db, path, "BTCUSDT", "15m")
    return path


def _catalog(path: Path):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    return ParquetDataCatalog(str(path))


def _counts(path: Path) -> tuple[int, int, int]:
    from nautilus_trader.model.data import Bar

    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    cat = _catalog(path)
    return (
        len(cat.query(Bar, identifiers=[BAR_TYPE])),
        len(cat.query(OpenInterest, identifiers=[IID])),
        len(cat.query(FundingRate, identifiers=[IID])),
    )


def _db_counts(db: Path) -> tuple[int, int, int]:
    return (
        _db_rows(db, "SELECT count(*) FROM klines WHERE symbol='BTCUSDT' AND interval='15m' AND price_type='last'")[0][
            0
        ],
        _db_rows(db, "SELECT count(*) FROM open_interest WHERE symbol='BTCUSDT' AND sum_open_interest IS NOT NULL")[0][
            0
        ],
        _db_rows(db, "SELECT count(*) FROM funding WHERE symbol='BTCUSDT'")[0][0],
    )


# ----------------------------------------------------------------------------------------- instruments


def test_btcusdt_instrument_has_binance_specs():
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.objects import Money, Price, Quantity

    from liq_signals.nautilus.instruments import binance_perpetual

    inst = binance_perpetual("btcusdt")
    assert str(inst.id) == IID
    assert inst.price_increment == Price.from_str("0.1") and inst.price_precision == 1
    assert inst.size_increment == Quantity.from_str("0.001") and inst.size_precision == 3
    assert inst.min_quantity == Quantity.from_str("0.001")
    assert inst.min_notional == Money(100, USDT)
    assert inst.maker_fee == Decimal("0.0002") and inst.taker_fee == Decimal("0.0005")
    assert inst.settlement_currency == USDT and not inst.is_inverse
    tier1 = json.loads(BRACKETS.read_text())["symbols"]["BTCUSDT"][0]
    assert inst.margin_maint == Decimal(str(tier1["maintMarginRatio"]))
    assert inst.margin_init == Decimal(1) / Decimal(tier1["initialLeverage"])


def test_hypeusdt_instrument_and_unknown_symbol():
    from nautilus_trader.model.objects import Price, Quantity

    from liq_signals.nautilus.instruments import binance_perpetual

    inst = binance_perpetual("HYPEUSDT")
    assert inst.price_increment == Price.from_str("0.001") and inst.price_precision == 3
    assert inst.size_increment == Quantity.from_str("0.01") and inst.size_precision == 2
    assert float(inst.min_notional) == 5.0
    with pytest.raises(LiqSignalsError, match="NOSUCHUSDT"):
        binance_perpetual("NOSUCHUSDT")


def test_instrument_round_trips_through_catalog(catalog_dir):
    from liq_signals.nautilus.instruments import binance_perpetual

    (inst,) = _catalog(catalog_dir).instruments()
    expected = binance_perpetual("BTCUSDT")
    for attr in (
        "id",
        "price_increment",
        "size_increment",
        "min_quantity",
        "min_notional",
        "margin_init",
        "margin_maint",
        "maker_fee",
        "taker_fee",
    ):
        assert getattr(inst, attr) == getattr(expected, attr), attr


# ----------------------------------------------------------------------------------------- export


def test_catalog_counts_equal_db_counts(db, catalog_dir):
    counts = _counts(catalog_dir)
    assert counts == _db_counts(db)
    assert counts[1] < 8352  # the sample's zero-OI rows were skipped


def test_bars_stamped_at_close_with_db_prices(db, catalog_dir):
    from nautilus_trader.model.data import Bar

    bars = _catalog(catalog_dir).query(Bar, identifiers=[BAR_TYPE])
    rows = _db_rows(
        db,
        "SELECT epoch_ms(open_time), open, high, low, close, volume FROM klines "
        "WHERE symbol='BTCUSDT' AND interval='15m' AND price_type='last' ORDER BY open_time",
    )
    assert [str(b.bar_type) for b in bars[:1]] == [BAR_TYPE]
    assert [b.ts_event for b in bars] == [r[0] * 10**6 + MIN15_NS for r in rows]
    assert all(b.ts_init == b.ts_event for b in bars)
    # prices/volumes are fixed-point in Nautilus: compare as decimals at the instrument's precision
    assert [(b.open.as_decimal(), b.high.as_decimal(), b.low.as_decimal(), b.close.as_decimal()) for b in bars] == [
        tuple(Decimal(f"{x:.1f}") for x in r[1:5]) for r in rows
    ]
    assert [b.volume.as_decimal() for b in bars] == [Decimal(f"{r[5]:.3f}") for r in rows]


def test_open_interest_values_round_trip_exactly(db, catalog_dir):
    from liq_signals.nautilus.data_types import OpenInterest

    got = [c.data for c in _catalog(catalog_dir).query(OpenInterest, identifiers=[IID])]
    rows = _db_rows(
        db,
        "SELECT epoch_ms(time), sum_open_interest, sum_open_interest_value, sum_taker_long_short_vol_ratio "
        "FROM open_interest WHERE symbol='BTCUSDT' AND sum_open_interest IS NOT NULL ORDER BY time",
    )
    assert [(o.ts_event, o.open_interest, o.open_interest_value, o.taker_ratio) for o in got] == [
        (r[0] * 10**6, r[1], r[2], r[3]) for r in rows
    ]
    assert all(o.ts_init == o.ts_event and str(o.instrument_id) == IID for o in got)


def test_funding_values_round_trip(db, catalog_dir):
    from liq_signals.nautilus.data_types import FundingRate

    got = [c.data for c in _catalog(catalog_dir).query(FundingRate, identifiers=[IID])]
    rows = _db_rows(
        db, "SELECT epoch_ms(time), funding_rate, mark_price FROM funding WHERE symbol='BTCUSDT' ORDER BY time"
    )
    assert [(f.ts_event, f.rate, f.mark_price) for f in got] == [(r[0] * 10**6, r[1], r[2]) for r in rows]


def test_reexport_replaces_instead_of_duplicating(db, tmp_path):
    from liq_signals.backtest.catalog_export import export_catalog

    export_catalog(db, tmp_path, "BTCUSDT", "15m")
    first = _counts(tmp_path)
    export_catalog(db, tmp_path, "BTCUSDT", "15m")
    assert _counts(tmp_path) == first == _db_counts(db)
    # a sub-range re-export replaces just that range (files are split around it)
    export_catalog(db, tmp_path, "BTCUSDT", "15m", start="2023-11-20", end="2023-11-25T06:00")
    assert _counts(tmp_path) == first


def test_partial_range_exports_only_that_range(db, tmp_path):
    from liq_signals.backtest.catalog_export import export_catalog

    report = export_catalog(db, tmp_path, "BTCUSDT", "15m", start="2023-11-20", end="2023-11-21")
    assert report.bars == 96  # one day of 15-minute closes in [start, end)
    n_oi = _db_rows(
        db,
        "SELECT count(*) FROM open_interest WHERE symbol='BTCUSDT' AND sum_open_interest IS NOT NULL "
        "AND time >= '2023-11-20' AND time < '2023-11-21'",
    )[0][0]
    assert _counts(tmp_path)[:2] == (96, n_oi)


def test_second_bar_interval_is_refused(catalog_dir):
    from liq_signals.backtest.catalog_export import CatalogExportError, export_catalog

    with pytest.raises(CatalogExportError, match="one bar type per instrument"):
        export_catalog("/nonexistent.duckdb", catalog_dir, "BTCUSDT", "1h")


@pytest.mark.parametrize(
    "symbol, kwargs",
    [("HYPEUSDT", {}), ("BTCUSDT", {"start": "2024-01-01"}), ("BTCUSDT", {"bar_interval": "5m"})],
)
def test_no_data_is_a_one_line_error(db, tmp_path, symbol, kwargs):
    from liq_signals.backtest.catalog_export import CatalogExportError, export_catalog

    with pytest.raises(CatalogExportError, match="no .* klines") as info:
        export_catalog(db, tmp_path, symbol, **kwargs)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "data").exists()


# ----------------------------------------------------------------------------------------- custom data


def _oi_objects():
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.nautilus.data_types import OpenInterest

    iid = InstrumentId.from_str(IID)
    return [
        OpenInterest(
            10**18 + i * 300 * 10**9, 10**18 + i * 300 * 10**9, iid, 80000.0 + i / 7, 3.0e9 + i / 3, 0.5 + i / 97
        )
        for i in range(50)
    ]


def _oi_table(objs):
    """``custom_table`` of OpenInterest objects, built field by field from the objects."""
    from liq_signals.backtest.catalog_export import custom_table
    from liq_signals.nautilus.data_types import OpenInterest

    return custom_table(
        OpenInterest,
        np.array([o.ts_event for o in objs]),
        {
            "instrument_id": IID,
            "open_interest": [o.open_interest for o in objs],
            "open_interest_value": [o.open_interest_value for o in objs],
            "taker_ratio": [o.taker_ratio for o in objs],
        },
    )


def test_custom_table_matches_nautilus_serialization():
    from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

    from liq_signals.nautilus.data_types import OpenInterest

    objs = _oi_objects()
    table = _oi_table(objs)
    assert table.equals(ArrowSerializer.serialize_batch(objs, OpenInterest))


def test_write_custom_table_round_trips_field_by_field(tmp_path):
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.backtest.catalog_export import custom_table, write_custom_table
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    cat = _catalog(tmp_path)
    objs = _oi_objects()
    table = _oi_table(objs)
    path = write_custom_table(cat, OpenInterest, table, IID)
    assert Path(path).exists()
    got = [c.data for c in cat.query(OpenInterest, identifiers=[IID])]
    assert got == objs
    assert [(g.ts_event, g.ts_init) for g in got] == [(o.ts_event, o.ts_init) for o in objs]

    iid = InstrumentId.from_str(IID)
    funding = [
        FundingRate(5 * 10**18, 5 * 10**18, iid, 0.0001, float("nan"), 0),
        FundingRate(5 * 10**18 + 1, 5 * 10**18 + 1, iid, -0.00025, 43210.5, 8),
    ]
    ftable = custom_table(
        FundingRate,
        np.array([f.ts_event for f in funding]),
        {
            "instrument_id": IID,
            "rate": [f.rate for f in funding],
            "mark_price": [f.mark_price for f in funding],
            "interval_hours": [f.interval_hours for f in funding],
        },
    )
    write_custom_table(cat, FundingRate, ftable, IID)
    back = [c.data for c in cat.query(FundingRate, identifiers=[IID])]
    for a, b in zip(back, funding, strict=True):
        assert (a.instrument_id, a.rate, a.interval_hours, a.ts_event, a.ts_init) == (
            b.instrument_id,
            b.rate,
            b.interval_hours,
            b.ts_event,
            b.ts_init,
        )
        assert a.mark_price == b.mark_price or (math.isnan(a.mark_price) and math.isnan(b.mark_price))


def test_write_custom_table_rejects_bad_input(tmp_path):
    import pyarrow as pa

    from liq_signals.backtest.catalog_export import custom_table, write_custom_table
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    cat = _catalog(tmp_path)
    unsorted = custom_table(
        OpenInterest,
        np.array([2, 1]),
        {
            "instrument_id": IID,
            "open_interest": [1.0, 2.0],
            "open_interest_value": [1.0, 2.0],
            "taker_ratio": [0.5, 1.5],
        },
    )
    with pytest.raises(ValueError, match="sorted"):
        write_custom_table(cat, OpenInterest, unsorted, IID)
    with pytest.raises(ValueError, match="schema"):
        write_custom_table(cat, FundingRate, unsorted, IID)
    with pytest.raises(ValueError, match="empty"):
        write_custom_table(cat, OpenInterest, pa.Table.from_pylist([], schema=OpenInterest._schema), IID)


# ----------------------------------------------------------------------------------------- replay


def test_backtest_replays_bars_oi_and_funding_in_time_order(db, catalog_dir):
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.common.actor import Actor
    from nautilus_trader.config import (
        ActorConfig,
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        LoggingConfig,
    )
    from nautilus_trader.model.data import BarType, DataType

    from liq_signals.backtest.catalog_export import backtest_data_configs
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    class Recorder(Actor):
        def __init__(self):
            super().__init__(ActorConfig(component_id="CatalogRecorder"))
            self.seen: list[tuple[int, str]] = []

        def on_start(self):
            self.subscribe_bars(BarType.from_str(BAR_TYPE))
            self.subscribe_data(DataType(OpenInterest))
            self.subscribe_data(DataType(FundingRate))

        def on_bar(self, bar):
            self.seen.append((bar.ts_init, "bar"))

        def on_data(self, data):
            kind = {OpenInterest: "oi", FundingRate: "funding"}.get(type(data), type(data).__name__)
            self.seen.append((data.ts_init, kind))

    config = BacktestRunConfig(
        engine=BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True, log_level="ERROR")),
        venues=[
            BacktestVenueConfig(
                name="BINANCE", oms_type="NETTING", account_type="MARGIN", starting_balances=["10000 USDT"]
            )
        ],
        data=backtest_data_configs(catalog_dir, IID, BAR_TYPE),
        raise_exception=True,
        dispose_on_completion=False,
    )
    node = BacktestNode(configs=[config])
    node.build()
    recorder = Recorder()
    node.get_engine(config.id).add_actor(recorder)
    node.run()

    kinds = [k for _, k in recorder.seen]
    assert (kinds.count("bar"), kinds.count("oi"), kinds.count("funding")) == _db_counts(db)
    ts = [t for t, _ in recorder.seen]
    assert all(a <= b for a, b in zip(ts, ts[1:]))
    node.dispose()


# ----------------------------------------------------------------------------------------- CLI


def test_cli_catalog_command(db, tmp_path):
    import typer
    from typer.testing import CliRunner

    from liq_signals.commands import catalog as catalog_cmd

    app = typer.Typer()
    catalog_cmd.register(app)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    runner = CliRunner()
    out = tmp_path / "cat"
    result = runner.invoke(
        app, ["catalog", "--db", str(db), "--catalog", str(out), "--symbol", "BTCUSDT", "--bar", "15m", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert _counts(out) == _db_counts(db)
    bad = runner.invoke(
        app, ["catalog", "--db", str(db), "--catalog", str(tmp_path / "c2"), "--symbol", "ETHUSDT", "--quiet"]
    )
    assert bad.exit_code != 0 and isinstance(bad.exception, LiqSignalsError)
