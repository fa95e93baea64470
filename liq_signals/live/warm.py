"""Warm start: step the signal actor's engine over history before the first live bar.

:class:`WarmStartSignalActor` is :class:`~liq_signals.nautilus.actor.LiquidationSignalActor` plus a warm start
in ``on_start`` (before it subscribes), from one of:

- ``warm_start_db``: a liq_signals DuckDB file (bars, open interest with the metrics taker ratio, funding),
  exactly the backtest's inputs;
- ``warm_start_rest``: a Binance REST base URL (``/fapi/v1/klines``, ``/futures/data/openInterestHist``,
  ``/futures/data/takerlongshortRatio``, ``/fapi/v1/fundingRate``); Binance serves about the last 30 days of
  OI history; OI rows are stamped at their 5-minute stamp.

History covers ``warm_start_hours`` before ``warm_start_until`` (ISO; default: the node clock's now). All bars,
history and live, are stamped at their interval boundary as in the backtest (Nautilus's Binance client
stamps a live kline at its close time, 1 ms earlier: :func:`bar_close_ns` moves it up); observations up to ``warm_start_until`` (exclusive) are queued, so those after the last history bar apply with
the first live bar; live observations stamped before ``warm_start_until`` were part of the history and are
dropped (``history_repeats``). A live bar not after the last history bar is dropped (``stale_bars``). The
warm-up bars count towards ``warmup_bars``; no event is published for them.
Units: prices USDT, sizes base, values USDT, times epoch ns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from nautilus_trader.model.data import Bar

from liq_signals.engine.inputs import INPUT_KINDS, MarketInputs
from liq_signals.errors import ConfigError
from liq_signals.nautilus.actor import LiquidationSignalActor, LiquidationSignalActorConfig
from liq_signals.nautilus.data_types import FundingRate, OpenInterest
from liq_signals.nautilus.indicator import LiquidationClusterIndicator

NS_PER_MS = 1_000_000


def bar_close_ns(ts_ns: int, bar_ns: int) -> int:
    """A bar's stamp moved up to its interval boundary (the backtest's convention: Binance close time + 1 ms).
    Nautilus's Binance client stamps a kline at its close time T = boundary − 1 ms (as a float product,
    e.g. ...59.999000064 ns); a stamp already on the boundary is kept."""
    return -(-int(ts_ns) // bar_ns) * bar_ns


class WarmStartIndicator(LiquidationClusterIndicator):
    """The indicator, stamping each bar at its interval boundary (:func:`bar_close_ns`, the backtest's stamps),
    remembering its last bar and ignoring a bar not after it (``skipped`` tells)."""

    bar_ns: int = 0
    last_ts_ns: int | None = None
    skipped = False
    stale_bars = 0

    def handle_bar(self, bar: Bar) -> None:
        ts = bar_close_ns(bar.ts_event, self.bar_ns) if self.bar_ns else bar.ts_event
        self.skipped = self.last_ts_ns is not None and ts <= self.last_ts_ns
        if self.skipped:
            self.stale_bars += 1
            return
        self.update_raw(
            ts,
            bar.open.as_double(),
            bar.high.as_double(),
            bar.low.as_double(),
            bar.close.as_double(),
            bar.volume.as_double(),
        )

    def update_raw(self, ts_ns, open, high, low, close, volume) -> None:
        super().update_raw(ts_ns, open, high, low, close, volume)
        self.last_ts_ns = int(ts_ns)


def warm_up(indicator: LiquidationClusterIndicator, inputs: MarketInputs, until_ns: int) -> int:
    """Step ``indicator`` over ``inputs``' bars (stamped ``ts_ns``) closing before ``until_ns``, queueing each
    observation the engine consumes (ts < ``until_ns``) before the first bar closing at or after it. Bars
    pass volume but no taker volume (as live Nautilus bars). Returns the number of bars applied."""
    streams = []
    for kind in sorted(indicator.inputs):
        f = inputs.frame(kind)
        f = f[f["ts_ns"] < until_ns]
        rec = INPUT_KINDS[kind].record
        rows = [rec._make([int(r[0]), *r[1:]]) for r in f[list(rec._fields)].itertuples(index=False, name=None)]
        streams.append((f["ts_ns"].to_numpy(np.int64), rows))
    pos = [0] * len(streams)
    b = inputs.bars[inputs.bars["ts_ns"] < until_ns]
    n = 0
    for t, o, h, lo, c, v in b[["ts_ns", "open", "high", "low", "close", "volume"]].itertuples(index=False, name=None):
        for k, (times, rows) in enumerate(streams):
            j = int(np.searchsorted(times, t, side="right"))
            for r in rows[pos[k] : j]:
                indicator.observe(r)
            pos[k] = j
        indicator.update_raw(int(t), o, h, lo, c, v if v == v else 0.0)
        n += 1
    for k, (_times, rows) in enumerate(streams):  # observed after the last history bar: due with the first live bar
        for r in rows[pos[k] :]:
            indicator.observe(r)
    return n


def history_from_db(db_path: str, symbol: str, start_ns: int, until_ns: int) -> MarketInputs:
    """The DB's inputs in [start, until] (bars stamped at their close, Binance close time + 1 ms)."""
    from liq_signals.data.reader import load_market_inputs
    from liq_signals.times import to_timestamp

    return load_market_inputs(db_path, symbol, start=to_timestamp(start_ns), end=to_timestamp(until_ns))


def history_from_rest(base_url: str, symbol: str, interval: str, start_ns: int, until_ns: int) -> MarketInputs:
    """Binance REST history in [start, until): klines (stamped at close time + 1 ms, as the DB), OI history
    (+ taker ratio by stamp), funding. Paged with the endpoints' limits."""
    lo, hi = start_ns // NS_PER_MS, until_ns // NS_PER_MS - 1

    def pages(path, limit, time_key, **params):
        out, t = [], lo
        while t <= hi:
            rows = _get_json(base_url, path, dict(params, symbol=symbol, startTime=t, endTime=hi, limit=limit))
            if not rows:
                break
            out += rows
            last = rows[-1][time_key]
            if len(rows) < limit or last < t:
                break
            t = int(last) + 1
        return out

    k = pages("/fapi/v1/klines", 1500, 6, interval=interval)
    bars = pd.DataFrame(
        {
            "ts_ns": [(int(r[6]) + 1) * NS_PER_MS for r in k],
            "open": [float(r[1]) for r in k],
            "high": [float(r[2]) for r in k],
            "low": [float(r[3]) for r in k],
            "close": [float(r[4]) for r in k],
            "volume": [float(r[5]) for r in k],
            "taker_buy_volume": np.nan,
        },
        columns=["ts_ns", "open", "high", "low", "close", "volume", "taker_buy_volume"],
    )
    oi = pages("/futures/data/openInterestHist", 500, "timestamp", period="5m")
    taker = {
        int(r["timestamp"]): float(r["buySellRatio"])
        for r in pages("/futures/data/takerlongshortRatio", 500, "timestamp", period="5m")
    }
    open_interest = pd.DataFrame(
        {
            "ts_ns": [int(r["timestamp"]) * NS_PER_MS for r in oi],
            "open_interest": [float(r["sumOpenInterest"]) for r in oi],
            "open_interest_value": [float(r["sumOpenInterestValue"]) for r in oi],
            "taker_ratio": [taker.get(int(r["timestamp"]), math.nan) for r in oi],
        },
        columns=["ts_ns", "open_interest", "open_interest_value", "taker_ratio"],
    )
    fr = pages("/fapi/v1/fundingRate", 1000, "fundingTime")
    funding = pd.DataFrame(
        {
            "ts_ns": [int(r["fundingTime"]) * NS_PER_MS for r in fr],
            "rate": [float(r["fundingRate"]) for r in fr],
            "mark_price": [float(r.get("markPrice") or "nan") for r in fr],
        },
        columns=["ts_ns", "rate", "mark_price"],
    )
    empty = pd.DataFrame({"ts_ns": pd.Series([], dtype="int64")})
    mark = empty.assign(high=[], low=[], close=[])
    trades = empty.assign(price=[], quantity=[], is_buyer_maker=[])
    for f in (bars, open_interest, funding):
        f["ts_ns"] = f["ts_ns"].astype("int64")
    return MarketInputs(symbol, interval, bars, mark, open_interest, funding, trades)


def _get_json(base_url: str, path: str, params: dict):
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    url = base_url.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"warm_start_rest: GET {url} failed: {exc}") from None


class WarmStartSignalActorConfig(LiquidationSignalActorConfig, frozen=True):
    """:class:`LiquidationSignalActorConfig` + warm-start source (module doc). ``warm_start_hours`` > 0."""

    warm_start_db: str | None = None
    warm_start_rest: str | None = None
    warm_start_until: str | None = None
    warm_start_hours: float = 72.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.warm_start_db and self.warm_start_rest:
            raise ConfigError("warm_start: give either db or rest, not both")
        if not (isinstance(self.warm_start_hours, (int, float)) and 0 < self.warm_start_hours < math.inf):
            raise ConfigError(f"warm_start.hours must be > 0, got {self.warm_start_hours!r}")


class WarmStartSignalActor(LiquidationSignalActor):
    """The signal actor, warmed up from history before its first live bar (module doc)."""

    def __init__(self, config: WarmStartSignalActorConfig) -> None:
        super().__init__(config)
        self.indicator = WarmStartIndicator(
            config.engine_config(),
            warmup_bars=config.warmup_bars,
            bucket_floor_usd=config.bucket_floor_usd,
            proximity=config.proximity_config(),
        )
        self.indicator.bar_ns = config.bar_type.spec.timedelta.value
        self.warm_bars = 0
        self.warm_until_ns: int | None = None
        self.history_repeats = 0  # live observations already applied by the warm start (dropped)

    @property
    def stale_bars(self) -> int:
        return self.indicator.stale_bars

    def on_start(self) -> None:
        cfg = self.config
        if cfg.warm_start_db or cfg.warm_start_rest:
            from liq_signals.times import to_ns

            until = to_ns(cfg.warm_start_until) if cfg.warm_start_until else self.clock.timestamp_ns()
            start = until - int(cfg.warm_start_hours * 3_600_000_000_000)
            symbol = cfg.instrument_id.symbol.value.split("-")[0]
            if cfg.warm_start_db:
                hist = history_from_db(cfg.warm_start_db, symbol, start, until)
            else:
                hist = history_from_rest(cfg.warm_start_rest, symbol, _interval(cfg.bar_type), start, until)
            self.warm_bars = warm_up(self.indicator, hist, until)
            self.warm_until_ns = until
            self.log.info(
                f"warm start: {self.warm_bars} history bars applied "
                f"({'db ' + cfg.warm_start_db if cfg.warm_start_db else 'rest ' + cfg.warm_start_rest})"
            )
        super().on_start()

    def on_data(self, data) -> None:
        if not isinstance(data, (OpenInterest, FundingRate)) or data.instrument_id != self.config.instrument_id:
            return
        if self.warm_until_ns is not None and data.ts_event < self.warm_until_ns:
            self.history_repeats += 1
            return
        super().on_data(data)

    def on_bar(self, bar: Bar) -> None:
        if self.indicator.skipped:
            return
        super().on_bar(bar)


def _interval(bar_type) -> str:
    """Binance kline interval of a Nautilus time bar type (15-MINUTE → 15m)."""
    step, agg = str(bar_type).split("-")[-4:-2]
    unit = {"MINUTE": "m", "HOUR": "h", "DAY": "d"}.get(agg)
    if unit is None:
        raise ConfigError(f"bar_type {bar_type}: only MINUTE/HOUR/DAY bars have Binance klines")
    return f"{step}{unit}"
