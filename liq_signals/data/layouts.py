"""Binance USD-M file layouts: recognise a file's kind, symbol and columns from its name and header.

Columns are matched by header name through the aliases common downloaders use; a header-less file must
match a known layout by column count. The result is a ``FileLayout`` that ``ingest`` turns into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from liq_signals.errors import InputFileError

# kind -> price_type for the three kline families (data.binance.vision folder names)
KLINE_KINDS = {"klines": "last", "markPriceKlines": "mark", "indexPriceKlines": "index"}
KINDS = (*KLINE_KINDS, "metrics", "fundingRate", "aggTrades", "liquidations")
QUOTE_ASSETS = ("USDT", "USDC", "BUSD", "FDUSD")
INTERVAL_RE = re.compile(r"^(\d+)([smhdwM])$")
INTERVAL_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

# Canonical column -> (type, aliases). Types: num (DOUBLE), int (BIGINT), time, str, bool.
# The first alias found in a header wins, so list the preferred source first.
COLUMNS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "klines": {
        "open_time": ("time", ("open_time", "opentime", "open time")),
        "open": ("num", ("open", "o")),
        "high": ("num", ("high", "h")),
        "low": ("num", ("low", "l")),
        "close": ("num", ("close", "c")),
        "volume": ("num", ("volume", "v")),
        "close_time": ("time", ("close_time", "closetime", "close time")),
        "quote_volume": ("num", ("quote_volume", "quote_asset_volume", "quote_av")),
        "trades": ("int", ("count", "trades", "number_of_trades", "num_trades")),
        "taker_buy_volume": (
            "num",
            ("taker_buy_volume", "taker_buy_base", "taker_buy_base_volume", "taker_buy_base_asset_volume"),
        ),
        "taker_buy_quote_volume": (
            "num",
            ("taker_buy_quote_volume", "taker_buy_quote", "taker_buy_quote_asset_volume"),
        ),
        "ignore": ("str", ("ignore",)),
    },
    "metrics": {
        "create_time": ("time", ("create_time", "timestamp", "time")),
        "symbol": ("str", ("symbol",)),
        "sum_open_interest": ("num", ("sum_open_interest", "open_interest")),
        "sum_open_interest_value": ("num", ("sum_open_interest_value", "open_interest_value")),
        "count_toptrader_long_short_ratio": ("num", ("count_toptrader_long_short_ratio",)),
        "sum_toptrader_long_short_ratio": ("num", ("sum_toptrader_long_short_ratio",)),
        "count_long_short_ratio": ("num", ("count_long_short_ratio",)),
        "sum_taker_long_short_vol_ratio": ("num", ("sum_taker_long_short_vol_ratio",)),
    },
    "fundingRate": {
        "time": ("time", ("calc_time", "funding_time", "fundingtime", "time")),
        "symbol": ("str", ("symbol",)),
        "interval_hours": ("int", ("funding_interval_hours", "interval_hours")),
        "funding_rate": ("num", ("last_funding_rate", "funding_rate", "fundingrate")),
        "mark_price": ("num", ("mark_price", "markprice")),
    },
    "aggTrades": {
        "event_time": ("time", ("event_time", "event_time_ms")),
        "symbol": ("str", ("symbol",)),
        "agg_trade_id": ("int", ("agg_trade_id", "a", "aggregate_trade_id")),
        "price": ("num", ("price", "p")),
        "quantity": ("num", ("quantity", "q", "qty")),
        "first_trade_id": ("int", ("first_trade_id", "f")),
        "last_trade_id": ("int", ("last_trade_id", "l")),
        "time": ("time", ("transact_time", "trade_time", "trade_time_ms", "t", "time", "timestamp")),
        "is_buyer_maker": ("bool", ("is_buyer_maker", "m")),
    },
    "liquidations": {
        "symbol": ("str", ("symbol", "s")),
        "side": ("str", ("side", "S")),
        "order_type": ("str", ("order_type",)),
        "time_in_force": ("str", ("time_in_force",)),
        "original_quantity": ("num", ("original_quantity",)),
        "order_price": ("num", ("order_price",)),
        "price": ("num", ("average_price", "avg_price", "price")),
        "order_status": ("str", ("order_status",)),
        "last_filled_quantity": ("num", ("order_last_filled_quantity", "last_filled_qty")),
        "quantity": ("num", ("order_filled_accumulated_quantity", "filled_qty", "quantity")),
        "time": ("time", ("order_trade_time", "timestamp", "time", "trade_time")),
        "usd_value": ("num", ("usd_size", "usd_value", "notional")),
    },
}

REQUIRED = {
    "klines": ("open_time", "open", "high", "low", "close", "volume"),
    "metrics": ("create_time", "sum_open_interest"),
    "fundingRate": ("time", "funding_rate"),
    "aggTrades": ("agg_trade_id", "price", "quantity", "time", "is_buyer_maker"),
    "liquidations": ("symbol", "side", "price", "quantity", "time"),
}

# Header-less layouts, by kind and column count (Binance Vision files and the known recorders).
HEADERLESS = {
    "klines": {
        12: (
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "close_time",
            "quote_volume",
            "trades",
            "taker_buy_volume",
            "taker_buy_quote_volume",
            "ignore",
        )
    },
    "metrics": {8: tuple(COLUMNS["metrics"])},
    "fundingRate": {3: ("time", "interval_hours", "funding_rate")},
    "aggTrades": {
        7: ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "time", "is_buyer_maker")
    },
    "liquidations": {
        12: (
            "symbol",
            "side",
            "order_type",
            "time_in_force",
            "original_quantity",
            "order_price",
            "price",
            "order_status",
            "last_filled_quantity",
            "quantity",
            "time",
            "usd_value",
        )
    },
}
# The recorded aggTrade *stream* has Vision's column count but another order (2nd field = symbol).
AGGTRADE_STREAM = ("event_time", "symbol", "agg_trade_id", "price", "quantity", "time", "is_buyer_maker")


@dataclass(frozen=True)
class FileLayout:
    """How to read one CSV: its kind, the canonical name of each column in file order, and more."""

    kind: str  # one of KINDS
    columns: tuple[str, ...]
    has_header: bool
    symbol: str | None  # None: per-row symbol column
    interval: str | None  # klines only
    delimiter_space: bool  # values separated by ", " (recorded streams)
    name_symbol: str | None = None  # the symbol the file NAME names when rows carry their own symbol column

    @property
    def price_type(self) -> str | None:
        return KLINE_KINDS.get(self.kind)

    def column_type(self, name: str) -> str:
        table = "klines" if self.kind in KLINE_KINDS else self.kind
        return COLUMNS[table][name][0]


def normalise_symbol(raw: str) -> str:
    """Upper-case a symbol and add the USDT quote the forceOrder recorders strip (``BTC`` -> ``BTCUSDT``)."""
    s = raw.strip().upper()
    return s if s.endswith(QUOTE_ASSETS) else s + "USDT"


def interval_ms(interval: str) -> int:
    """Length of a Binance kline interval such as ``15m`` in milliseconds (``1M`` = 30 days)."""
    m = INTERVAL_RE.match(interval)
    if not m:
        raise ValueError(f"not a kline interval: {interval!r}")
    n, unit = int(m.group(1)), m.group(2)
    return n * (30 * 86_400_000 if unit == "M" else INTERVAL_MS[unit])


def _kind_from_name(path: Path) -> tuple[str | None, str | None, str | None]:
    """(kind, symbol, interval) guessed from the data.binance.vision path/name; Nones when unknown."""
    name = path.name
    stem = name.split(".")[0]
    parts = stem.split("-")
    folder_kind = next((p for p in reversed(path.parts[:-1]) if p in KINDS), None)
    lower = name.lower()
    if "forceorder" in lower or "liquidation" in lower:
        return "liquidations", None, None
    if "aggtrades" in lower:
        kind = "aggTrades"
    elif "metrics" in lower:
        kind = "metrics"
    elif "fundingrate" in lower or "funding" in lower:
        kind = "fundingRate"
    elif len(parts) >= 2 and INTERVAL_RE.match(parts[1]):
        kind = folder_kind if folder_kind in KLINE_KINDS else "klines"
    else:
        kind = folder_kind
    symbol = None
    if parts and re.fullmatch(r"[A-Z0-9]{2,20}", parts[0]) and parts[0].endswith(QUOTE_ASSETS):
        symbol = parts[0]
    interval = parts[1] if kind in KLINE_KINDS and len(parts) >= 2 and INTERVAL_RE.match(parts[1]) else None
    return kind, symbol, interval


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _header_map(kind: str, header: list[str], file: str) -> tuple[str, ...]:
    """Map a header row to canonical names; reject unknown (extra), duplicate and missing columns."""
    table = "klines" if kind in KLINE_KINDS else kind
    alias_to_canon: dict[str, str] = {}
    for canon, (_, aliases) in COLUMNS[table].items():
        for a in aliases:
            alias_to_canon.setdefault(a.lower(), canon)
    present = {c.strip().lower() for c in header}
    chosen: dict[str, str] = {}  # header name -> canonical, the best-ranked alias per canonical column
    for canon, (_, aliases) in COLUMNS[table].items():
        best = next((a.lower() for a in aliases if a.lower() in present and a.lower() not in chosen), None)
        if best is not None:
            chosen[best] = canon
    names: list[str] = []
    for col in header:
        key = col.strip().lower()
        if key in chosen and chosen[key] not in names:
            names.append(chosen[key])
        elif alias_to_canon.get(key) == "price" and "order_price" not in names:
            names.append("order_price")  # forceOrder: `price` (order price) next to `average_price`
        elif key in alias_to_canon:
            raise InputFileError(file, f"column maps to '{alias_to_canon[key]}' twice", field=col.strip())
        else:
            raise InputFileError(
                file, f"unexpected column for {kind} (known: {', '.join(COLUMNS[table])})", field=col.strip()
            )
    missing = [c for c in REQUIRED[table] if c not in names]
    if missing:
        raise InputFileError(file, f"missing required column(s) for {kind}", field=", ".join(missing))
    return tuple(names)


def _kind_from_header(header: list[str]) -> str | None:
    cols = {c.strip().lower() for c in header}
    if {"sum_open_interest", "create_time"} <= cols:
        return "metrics"
    if cols & {"last_funding_rate", "funding_rate", "fundingrate"}:
        return "fundingRate"
    if cols & {"usd_size", "usd_value", "order_trade_time", "avg_price"} and "side" in cols:
        return "liquidations"
    if cols & {"agg_trade_id", "is_buyer_maker"}:
        return "aggTrades"
    if {"open_time", "open", "high", "low", "close"} <= cols:
        return "klines"
    return None


def detect_layout(
    path: Path,
    display: str,
    first_line: str,
    kind: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
) -> FileLayout:
    """Work out a file's layout from its name (``display``), first line and user overrides."""
    if kind is not None and kind not in KINDS:
        raise InputFileError(display, f"unknown kind '{kind}' (known: {', '.join(KINDS)})")
    name_kind, name_symbol, name_interval = _kind_from_name(path)
    delimiter_space = ", " in first_line
    fields = [f.strip() for f in first_line.rstrip("\r\n").split(",")]
    table_guess = kind or name_kind
    known_names = {a.lower() for t in COLUMNS.values() for _, al in t.values() for a in al}
    has_header = not _is_number(fields[0]) and any(f.lower() in known_names for f in fields)
    if has_header:
        kind = kind or _kind_from_header(fields) or name_kind
        if kind is None:
            raise InputFileError(display, "cannot tell the kind of this file from its name or header; pass --kind")
        columns = _header_map(kind, fields, display)
    else:
        kind = table_guess
        if kind is None:
            if len(fields) == 12 and not _is_number(fields[0]):
                kind = "liquidations"
            else:
                raise InputFileError(
                    display, "cannot tell the kind of this header-less file from its name; pass --kind"
                )
        table = "klines" if kind in KLINE_KINDS else kind
        layouts = HEADERLESS[table]
        if kind == "aggTrades" and len(fields) == 7 and not _is_number(fields[1]):
            columns = AGGTRADE_STREAM
        elif len(fields) in layouts:
            columns = layouts[len(fields)]
        else:
            raise InputFileError(
                display,
                f"header-less {kind} file has {len(fields)} columns; a Binance layout has "
                f"{' or '.join(str(n) for n in layouts)}",
                row=1,
            )
    if kind in KLINE_KINDS:
        interval = interval or name_interval
        if interval is None:
            raise InputFileError(display, "kline interval not in the file name; pass --interval (e.g. 15m)")
        try:
            interval_ms(interval)
        except ValueError:
            raise InputFileError(display, f"bad kline interval '{interval}'") from None
    sym = symbol or name_symbol
    if "symbol" not in columns and sym is None:
        raise InputFileError(display, "cannot tell the symbol from the file name; pass --symbol")
    checked = None
    if sym is not None and "symbol" in columns and symbol is None:
        sym = None  # a per-row symbol column is used, but must agree with the symbol the file name names
        checked = normalise_symbol(name_symbol)
    return FileLayout(
        kind=kind,
        columns=columns,
        has_header=has_header,
        symbol=normalise_symbol(sym) if sym else None,
        interval=interval if kind in KLINE_KINDS else None,
        delimiter_space=delimiter_space,
        name_symbol=checked,
    )
