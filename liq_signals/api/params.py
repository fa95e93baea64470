"""Checks of the API's query parameters. A bad value raises ``ApiError`` naming the parameter and what is valid;
the app turns it into an HTTP 4xx with a JSON body ``{"error": {"param", "message", "valid"}}``.

Times are ISO 8601 UTC (naive = UTC), durations carry a unit (``15m``, ``1h``, ``3d``); epoch ns inside.
"""

from __future__ import annotations

from liq_signals.engine.engine import MODELS
from liq_signals.errors import LiqSignalsError
from liq_signals.times import NS_PER_DAY, NS_PER_MINUTE, ns_to_iso, to_duration_ns, to_ns

TOP_K_MAX = 100
WARMUP_MAX_NS = 400 * NS_PER_DAY
RANGE_MAX_NS = 366 * NS_PER_DAY
EVERY_MIN_NS = NS_PER_MINUTE
MAX_SNAPSHOTS = 2000
LIQUIDATIONS_MAX_ROWS = 50_000


class ApiError(LiqSignalsError):
    """A bad query parameter: ``param`` (its name), ``message`` (one line), ``valid`` (what would be accepted),
    ``status`` (HTTP code: 404 unknown symbol, 422 otherwise)."""

    def __init__(self, param: str, message: str, valid=None, status: int = 422):
        self.param, self.message, self.valid, self.status = param, message, valid, status
        super().__init__(f"{param}: {message}")

    def body(self) -> dict:
        return {"error": {"param": self.param, "message": self.message, "valid": self.valid}}


def symbol_info(store, symbol: str):
    """The store's ``SymbolInfo`` of ``symbol`` (case-insensitive); 404 naming the known symbols."""
    s = (symbol or "").strip().upper()
    if s not in store.symbols:
        raise ApiError("symbol", f"unknown symbol {symbol!r}", sorted(store.symbols), status=404)
    return store.symbols[s]


def model(value: str) -> str:
    m = (value or "").strip().lower()
    if m not in MODELS:
        raise ApiError("model", f"unknown model {value!r}", list(MODELS))
    return m


def time_ns(param: str, value: str) -> int:
    try:
        return to_ns(value, param)
    except LiqSignalsError as exc:
        raise ApiError(param, str(exc).split(": ", 1)[-1], "ISO 8601 UTC time, e.g. 2023-12-11T02:00") from None


def duration_ns(param: str, value: str, lo_ns: int, hi_ns: int) -> int:
    """A duration with a unit between ``lo_ns`` and ``hi_ns``."""
    valid = f"a duration with a unit between {_dur(lo_ns)} and {_dur(hi_ns)}, e.g. 15m, 1h, 3d"
    try:
        ns = to_duration_ns(value, param)
    except LiqSignalsError as exc:
        raise ApiError(param, str(exc).split(": ", 1)[-1], valid) from None
    if not lo_ns <= ns <= hi_ns:
        raise ApiError(param, f"{value!r} is out of range", valid)
    return ns


def _dur(ns: int) -> str:
    for unit, size in (("d", NS_PER_DAY), ("h", 3600 * 10**9), ("m", NS_PER_MINUTE), ("s", 10**9)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def top_k(value: int) -> int:
    if not 1 <= value <= TOP_K_MAX:
        raise ApiError("top_k", f"{value} is out of range", {"min": 1, "max": TOP_K_MAX})
    return value


def min_share(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ApiError("min_share", f"{value} is out of range", {"min": 0.0, "max": 1.0})
    return value


def covered(info) -> list:
    return [s.to_dict() for s in info.segments]


def at_in_data(info, param: str, t_ns: int):
    """The covered segment answering a query at ``t_ns``; 422 with the covered ranges when none does (a time
    past the data, or in a pause of it, would otherwise get the last bar's stale state)."""
    seg = info.segment_at(t_ns)
    if seg is None:
        raise ApiError(param, f"{ns_to_iso(t_ns)} is outside the data of {info.symbol}", covered(info))
    return seg


def range_in_data(info, start_ns: int, end_ns: int):
    """Check [start, end]: ordered, at most a year, both ends inside one covered segment."""
    if end_ns < start_ns:
        raise ApiError("end", f"end {ns_to_iso(end_ns)} is before start {ns_to_iso(start_ns)}", "end >= start")
    if end_ns - start_ns > RANGE_MAX_NS:
        raise ApiError("end", "range longer than 366 days", "end - start <= 366d")
    seg = at_in_data(info, "start", start_ns)
    seg_end = at_in_data(info, "end", end_ns)
    if seg_end.first_ns > seg.last_ns:
        raise ApiError("end", f"start and end fall in different stretches of data of {info.symbol}", covered(info))
    return seg_end


def tiers(value: str | None, all_tiers: tuple) -> tuple:
    """Subset of the engine's leverage tiers from '5,10,25' (None/empty = all)."""
    names = [f"{t:g}" for t in all_tiers]
    if not value:
        return tuple(all_tiers)
    out = []
    for part in value.split(","):
        p = part.strip().lower().rstrip("x")
        try:
            v = float(p)
        except ValueError:
            raise ApiError("tiers", f"not a leverage: {part!r}", names) from None
        if v not in all_tiers:
            raise ApiError("tiers", f"no tier {part!r}", names)
        if v not in out:
            out.append(v)
    return tuple(sorted(out))


def warmup_ns(value: str, t_ns: int, info) -> int:
    """Warm-up before ``t_ns`` in ns: a duration with a unit (1h..400d, as the CLI's ``--warmup``) or ``all``
    = back to the symbol's first stored record (the CLI with any ``--warmup`` reaching before it)."""
    if (value or "").strip().lower() == "all":
        return max(t_ns - info.data_start_ns, 0) + 1
    return duration_ns("warmup", value, 3600 * 10**9, WARMUP_MAX_NS)
