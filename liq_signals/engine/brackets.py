"""Binance USD-M maintenance-margin bracket tables, loaded as data and chosen by date.

A table maps position notional (USDT) to a maintenance margin rate (MMR, a fraction) and a maintenance
amount ``cum`` (USDT): maintenance margin = notional * MMR - cum. Shipped snapshots live in
``liq_signals/engine/brackets_data/binance-usdm-<effective_from>.json``; ``default.json`` there is a
conservative table used for symbols with no known table (outputs must say so, see ``BracketTable.note``).

Every table is validated on load: bracket 1 starts at notional 0 with cum 0, tiers are contiguous
(floor_n == cap_(n-1)), MMR never decreases and cum is continuous:
cum_n = cum_(n-1) + floor_n * (MMR_n - MMR_(n-1)).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from liq_signals.errors import InputFileError, LiqSignalsError

BRACKETS_DIR = Path(__file__).with_name("brackets_data")
DEFAULT_TABLE_FILE = BRACKETS_DIR / "default.json"
SNAPSHOT_GLOB = "binance-usdm-*.json"

# Relative tolerance of the cum continuity check (cum values are whole USDT in every published table).
CUM_REL_TOL = 1e-6
# Tables more than this many days older than the requested date get a staleness note.
STALE_AFTER_DAYS = 365


class BracketTableError(InputFileError):
    """A bracket table file that cannot be used; names the file, symbol, bracket and field."""


@dataclass(frozen=True, eq=False)
class BracketTable:
    """One symbol's bracket table.

    Arrays (read-only, one entry per bracket, bracket n is index n-1): ``notional_floor`` and
    ``notional_cap`` in USDT, ``mmr`` as a fraction (0.004 = 0.4%), ``cum`` in USDT, ``max_leverage``
    (initial leverage allowed in that bracket). ``effective_from`` is the date the table applies from
    (None for a user file that has no date). ``is_default`` marks the fallback table for an unknown
    symbol; ``is_later_than_data`` marks a snapshot dated after the requested date (used only when no
    earlier one exists). ``note`` is an empty string or a one-line caveat that outputs should print.
    """

    symbol: str
    effective_from: dt.date | None
    source: str
    file: str
    is_default: bool
    notional_floor: np.ndarray
    notional_cap: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray
    max_leverage: np.ndarray
    is_later_than_data: bool = False
    note: str = ""

    @property
    def n_brackets(self) -> int:
        return int(self.mmr.shape[0])

    def describe(self) -> str:
        """One line naming the table used, for CLI output, reports and snapshots."""
        if self.is_default:
            text = f"default table used for {self.symbol} ({Path(self.file).name})"
        else:
            date = self.effective_from.isoformat() if self.effective_from else "undated"
            text = f"{self.symbol} brackets {date} ({Path(self.file).name})"
        return f"{text}; {self.note}" if self.note else text

    def lookup(self, notional) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bracket (1-based int), MMR and cum for position notional(s) in USDT; the last bracket is used
        beyond its cap, bracket 1 for notional <= 0."""
        notional = np.asarray(notional, dtype=float)
        idx = np.searchsorted(self.notional_cap, notional, side="left")
        idx = np.clip(idx, 0, self.n_brackets - 1)
        return idx + 1, self.mmr[idx], self.cum[idx]

    def max_leverage_at(self, notional: float) -> tuple[int, float]:
        """(bracket 1-based, maximum initial leverage) Binance allows for a position of ``notional`` USDT
        (the bracket whose ``notional_floor < notional <= notional_cap``, as in :meth:`lookup`)."""
        bracket = int(self.lookup(float(notional))[0])
        return bracket, float(self.max_leverage[bracket - 1])


def _readonly(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    arr.setflags(write=False)
    return arr


def _parse_date(value, file: str, field: str = "effective_from") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BracketTableError(file, f"not an ISO date: {value!r}", field=field) from None


def _number(tier: dict, key: str, file: str, symbol: str, bracket: int) -> float:
    if key not in tier:
        raise BracketTableError(file, f"{symbol} bracket {bracket}: missing", field=key)
    try:
        value = float(tier[key])
    except (TypeError, ValueError):
        raise BracketTableError(file, f"{symbol} bracket {bracket}: not a number: {tier[key]!r}", field=key) from None
    if not np.isfinite(value):
        raise BracketTableError(file, f"{symbol} bracket {bracket}: not finite", field=key)
    return value


def build_table(
    symbol: str,
    tiers: list,
    *,
    file: str,
    effective_from: dt.date | None,
    source: str,
    is_default: bool = False,
) -> BracketTable:
    """Validate tier dicts in Binance's ``leverageBracket`` layout (bracket, notionalFloor, notionalCap,
    initialLeverage, maintMarginRatio, cum) and build a ``BracketTable``; raises ``BracketTableError``."""
    if not isinstance(tiers, list) or not tiers:
        raise BracketTableError(file, f"{symbol}: bracket list is empty or not a list")
    floor, cap, mmr, cum, lev = [], [], [], [], []
    for i, tier in enumerate(tiers):
        n = i + 1
        if not isinstance(tier, dict):
            raise BracketTableError(file, f"{symbol} bracket {n}: not an object")
        if "bracket" in tier and int(tier["bracket"]) != n:
            raise BracketTableError(
                file, f"{symbol} bracket {n}: numbered {tier['bracket']}, expected {n}", field="bracket"
            )
        f = _number(tier, "notionalFloor", file, symbol, n)
        c = _number(tier, "notionalCap", file, symbol, n)
        m = _number(tier, "maintMarginRatio", file, symbol, n)
        k = _number(tier, "cum", file, symbol, n)
        lv = _number(tier, "initialLeverage", file, symbol, n)
        if c <= f:
            raise BracketTableError(file, f"{symbol} bracket {n}: cap {c:g} <= floor {f:g}", field="notionalCap")
        if not 0.0 < m < 1.0:
            raise BracketTableError(file, f"{symbol} bracket {n}: MMR {m:g} outside (0, 1)", field="maintMarginRatio")
        if lv < 1.0:
            raise BracketTableError(file, f"{symbol} bracket {n}: leverage {lv:g} < 1", field="initialLeverage")
        if i == 0:
            if f != 0.0:
                raise BracketTableError(file, f"{symbol} bracket 1: floor {f:g}, expected 0", field="notionalFloor")
            if abs(k) > CUM_REL_TOL:
                raise BracketTableError(file, f"{symbol} bracket 1: cum {k:g}, expected 0", field="cum")
        else:
            if f != cap[-1]:
                raise BracketTableError(
                    file,
                    f"{symbol} bracket {n}: floor {f:g} != previous cap {cap[-1]:g} (tiers not contiguous)",
                    field="notionalFloor",
                )
            if m < mmr[-1]:
                raise BracketTableError(
                    file, f"{symbol} bracket {n}: MMR {m:g} below previous {mmr[-1]:g}", field="maintMarginRatio"
                )
            expected = cum[-1] + f * (m - mmr[-1])
            if abs(k - expected) > CUM_REL_TOL * max(1.0, abs(expected)):
                raise BracketTableError(
                    file,
                    f"{symbol} bracket {n}: cum {k:g} breaks continuity, expected {expected:.6g} "
                    f"= cum_{n - 1} + floor * (MMR_{n} - MMR_{n - 1})",
                    field="cum",
                )
        floor.append(f)
        cap.append(c)
        mmr.append(m)
        cum.append(k)
        lev.append(lv)
    return BracketTable(
        symbol=symbol,
        effective_from=effective_from,
        source=source,
        file=file,
        is_default=is_default,
        notional_floor=_readonly(floor),
        notional_cap=_readonly(cap),
        mmr=_readonly(mmr),
        cum=_readonly(cum),
        max_leverage=_readonly(lev),
    )


@dataclass(frozen=True)
class _TableFile:
    """A parsed, validated bracket file: its date, source and tables by symbol (None key: symbol-less)."""

    file: str
    effective_from: dt.date | None
    source: str
    tables: dict


def _parse_file(path: Path) -> _TableFile:
    file = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BracketTableError(file, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BracketTableError(file, f"not readable JSON: {str(exc).splitlines()[0]}") from None

    effective_from, source, by_symbol = None, "", {}
    if isinstance(data, dict):
        effective_from = _parse_date(data.get("effective_from"), file)
        source = str(data.get("source", ""))
        if "symbols" in data:  # shipped layout: {"effective_from", "source", "symbols": {SYM: [tiers]}}
            if not isinstance(data["symbols"], dict):
                raise BracketTableError(file, "'symbols' is not an object", field="symbols")
            by_symbol = dict(data["symbols"])
        elif "brackets" in data:  # one symbol, Binance API shape: {"symbol"?, "brackets": [tiers]}
            by_symbol = {data.get("symbol"): data["brackets"]}
        else:
            raise BracketTableError(file, "expected a 'symbols' or 'brackets' key")
    elif isinstance(data, list) and data and all(isinstance(x, dict) and "brackets" in x for x in data):
        # Binance API shape for several symbols: [{"symbol": ..., "brackets": [tiers]}, ...]
        by_symbol = {x.get("symbol"): x["brackets"] for x in data}
    elif isinstance(data, list):  # a bare list of tiers for one symbol
        by_symbol = {None: data}
    else:
        raise BracketTableError(file, "expected a JSON object or list")

    tables = {
        sym: build_table(sym or "?", tiers, file=file, effective_from=effective_from, source=source)
        for sym, tiers in by_symbol.items()
    }
    return _TableFile(file=file, effective_from=effective_from, source=source, tables=tables)


@lru_cache(maxsize=64)
def _load_file_cached(path_str: str, mtime_ns: int) -> _TableFile:
    return _parse_file(Path(path_str))


def _load_file(path: Path) -> _TableFile:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise BracketTableError(str(path), "file not found") from None
    return _load_file_cached(str(path.resolve()), mtime)


@lru_cache(maxsize=1)
def shipped_snapshots() -> tuple[_TableFile, ...]:
    """The shipped dated snapshots, oldest first (validated; cached for the process)."""
    files = sorted(BRACKETS_DIR.glob(SNAPSHOT_GLOB))
    snaps = [_load_file(p) for p in files]
    for s in snaps:
        if s.effective_from is None:
            raise BracketTableError(s.file, "shipped snapshot has no date", field="effective_from")
    return tuple(sorted(snaps, key=lambda s: s.effective_from))


def to_date(at) -> dt.date:
    """UTC calendar date of ``at``: a date, datetime (naive = UTC), pandas Timestamp, numpy datetime64,
    ISO string or int epoch **nanoseconds**; None means today (UTC)."""
    if at is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(at, dt.datetime):  # also pandas.Timestamp
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC)
        return at.date()
    if isinstance(at, dt.date):
        return at
    if isinstance(at, np.datetime64):
        return to_date(int(at.astype("datetime64[ns]").astype(np.int64)))
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        ns = int(at)
        if abs(ns) < 10**17:
            raise LiqSignalsError(f"time {ns} does not look like epoch nanoseconds (before 1973); pass ns")
        return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).date()
    if isinstance(at, str):
        try:
            return dt.date.fromisoformat(at.strip()[:10])
        except ValueError:
            raise LiqSignalsError(f"not an ISO date: {at!r}") from None
    raise LiqSignalsError(f"cannot read a date from {type(at).__name__} {at!r}")


@lru_cache(maxsize=256)
def _select(symbol: str, day: dt.date, path_str: str | None, mtime_ns: int | None) -> BracketTable:
    if path_str is not None:
        tf = _load_file_cached(path_str, mtime_ns)
        table = tf.tables.get(symbol)
        if table is None:
            if None in tf.tables and len(tf.tables) == 1:  # file for one unnamed symbol
                table = tf.tables[None]
            else:
                names = ", ".join(sorted(str(s) for s in tf.tables))
                raise BracketTableError(path_str, f"no table for {symbol} (has: {names})", field="symbol")
        return _with(
            table, symbol=symbol, note="" if tf.effective_from else "user bracket file has no effective_from date"
        )

    candidates = [s for s in shipped_snapshots() if symbol in s.tables]
    if not candidates:
        tf = _load_file(DEFAULT_TABLE_FILE)
        table = tf.tables["DEFAULT"]
        return _with(
            table,
            symbol=symbol,
            is_default=True,
            note=f"no known bracket table for {symbol}: conservative default table used",
        )
    earlier = [s for s in candidates if s.effective_from <= day]
    if earlier:
        snap = earlier[-1]
        note = ""
        age = (day - snap.effective_from).days
        if age > STALE_AFTER_DAYS:
            note = f"latest known table for {symbol} is {age} days older than {day.isoformat()}"
        return _with(snap.tables[symbol], note=note)
    snap = candidates[0]
    return _with(
        snap.tables[symbol],
        is_later_than_data=True,
        note=f"only table known for {symbol} is dated {snap.effective_from.isoformat()}, after {day.isoformat()}",
    )


def _with(table: BracketTable, **changes) -> BracketTable:
    from dataclasses import replace

    return replace(table, **changes)


def load_bracket_table(symbol: str, at=None, path: str | Path | None = None) -> BracketTable:
    """The bracket table for ``symbol`` in force at ``at`` (see ``to_date`` for accepted types).

    Without ``path``: among the shipped snapshots holding ``symbol``, the one with the latest
    effective_from <= at; if all are later, the earliest (``is_later_than_data=True``, noted); if none
    holds the symbol, the conservative default (``is_default=True``, noted). With ``path``: that file
    (shipped layout, Binance API ``leverageBracket`` layout, or a bare list of tiers). Cached.
    """
    symbol = symbol.strip().upper()
    day = to_date(at)
    if path is None:
        return _select(symbol, day, None, None)
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise BracketTableError(str(path), "file not found") from None
    return _select(symbol, day, str(p.resolve()), mtime)
