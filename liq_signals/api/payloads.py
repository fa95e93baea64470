"""JSON bodies of the API. Units: prices and bucket edges USDT, notionals USDT (ensemble: USDT-scaled
intensity), times ISO 8601 UTC. Every engine answer carries ``assumptions`` (what the estimate rests on)."""

from __future__ import annotations

import json

import numpy as np

from liq_signals.engine.engine import EngineConfig
from liq_signals.times import ns_to_iso


def dumps(body: dict) -> bytes:
    """Strict JSON bytes of ``body``; a NaN/inf anywhere becomes null (JSON has no NaN)."""
    try:
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:
        return json.dumps(_finite(body), allow_nan=False, separators=(",", ":")).encode()


def _finite(x):
    if isinstance(x, float):
        return x if np.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def assumptions(cfg: EngineConfig, brackets: dict, notes, **extra) -> dict:
    """Model, tiers with their weights and half-lives, side attribution, bracket table and its date, notes."""
    out_notes = list(dict.fromkeys(notes))
    if brackets.get("is_default"):
        out_notes.append("default bracket table: no dated snapshot of Binance's brackets for this symbol")
    out_notes.append("levels are estimates of where leveraged positions would be liquidated, not an order book")
    d = {
        "model": cfg.model,
        "models": list(cfg.model_names),
        "tiers": [
            {"leverage": t, "weight": w, "half_life_hours": h}
            for t, w, h in zip(cfg.tiers, cfg.tier_weights, cfg.tier_half_life_hours)
        ],
        "side_attribution": cfg.side_attribution,
        "representative_notional_usd": cfg.representative_notional_usd,
        "bucket_bps": cfg.bucket_bps,
        "brackets": {
            "date": brackets.get("effective_from"),
            "file": brackets.get("file"),
            "is_default": brackets.get("is_default"),
            "note": brackets.get("note") or "",
        },
    }
    if cfg.model == "ensemble":
        d["ensemble_weights"] = dict(zip(("a", "b", "c"), cfg.ensemble_weights))
    d.update(extra)
    d["notes"] = out_notes
    return d


def levels(snap, cfg: EngineConfig, top_k: int, min_share: float, extra: dict) -> dict:
    """``LevelSnapshot.to_dict`` (the CLI's ``levels --json``) plus the map by tier with cumulative curves."""
    out = snap.to_dict(top_k, min_share)
    out["map"] = {
        "edges": snap.edges.tolist(),
        "tiers": [float(t) for t in snap.tiers],
        "long": {f"{t:g}": row.tolist() for t, row in zip(snap.tiers, snap.long_notional)},
        "short": {f"{t:g}": row.tolist() for t, row in zip(snap.tiers, snap.short_notional)},
        "cumulative_long": snap.cumulative_long().tolist(),
        "cumulative_short": snap.cumulative_short().tolist(),
    }
    out["assumptions"] = assumptions(cfg, snap.brackets, snap.notes, **extra)
    return out


def sparse(grid: np.ndarray) -> dict:
    """Non-zero cells of a [time, bucket] grid: parallel lists of time index, bucket index, value."""
    t, b = np.nonzero(grid)
    return {"t": t.tolist(), "b": b.tolist(), "v": grid[t, b].astype(float).tolist()}


def candles(bars, times_ns: np.ndarray) -> dict:
    """OHLC per snapshot column: the bars closing in (previous snapshot, this snapshot] (USDT)."""
    ts = bars["ts_ns"].to_numpy(np.int64)
    o, h, lo, c = (bars[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    cut = np.searchsorted(ts, times_ns, side="right")
    out = {"open": [], "high": [], "low": [], "close": []}
    prev = int(np.searchsorted(ts, times_ns[0] - (times_ns[1] - times_ns[0] if len(times_ns) > 1 else 0), side="right"))
    for j in cut:
        if j > prev:
            out["open"].append(float(o[prev]))
            out["high"].append(float(h[prev:j].max()))
            out["low"].append(float(lo[prev:j].min()))
            out["close"].append(float(c[j - 1]))
        else:
            for k in out:
                out[k].append(None)
        prev = max(prev, int(j))
    return out


def heatmap(hm, cfg: EngineConfig, tiers: tuple, bars, extra: dict) -> dict:
    """Compact heatmap: times, last prices, edges, and per side the non-zero cells summed over ``tiers``."""
    sel = [list(hm.tiers).index(t) for t in tiers]
    return {
        "symbol": hm.symbol,
        "model": hm.model,
        "times": [ns_to_iso(t) for t in hm.times_ns],
        "prices": [_num(p) for p in hm.prices],
        "edges": hm.edges.tolist(),
        "tiers": list(tiers),
        "long": sparse(hm.long_tiers[:, sel, :].sum(axis=1)),
        "short": sparse(hm.short_tiers[:, sel, :].sum(axis=1)),
        "candles": candles(bars, hm.times_ns),
        "brackets": hm.brackets,
        "notes": list(hm.notes),
        "assumptions": assumptions(cfg, hm.brackets, hm.notes, **extra),
    }


def compare(cmp, cfg: EngineConfig, extra: dict) -> dict:
    """Agreement table and per model the total long/short notional at each snapshot time."""
    hms = cmp.heatmaps
    first = next(iter(hms.values()))
    rows = [
        {k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()}
        for r in cmp.agreement.to_dict(orient="records")
    ]
    return {
        "symbol": first.symbol,
        "times": [ns_to_iso(t) for t in first.times_ns],
        "prices": [_num(p) for p in first.prices],
        "agreement": rows,
        "models": {
            m: {
                "long_total_usd": h.long.sum(axis=1).astype(float).tolist(),
                "short_total_usd": h.short.sum(axis=1).astype(float).tolist(),
                "notes": list(h.notes),
            }
            for m, h in hms.items()
        },
        "assumptions": assumptions(cfg, first.brackets, [n for h in hms.values() for n in h.notes], **extra),
    }
