"""Outputs of the prior study: table rows (console), one JSON object and a Markdown summary.

Percentages are shares of zones (precision) or of realized USDT notional (recall); ``dist bps`` is the
median distance of the top-k zones from price in basis points; ``excess`` is the study criterion
(precision − baseline precision, pooled).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from liq_signals.engine import overrides as ov
from liq_signals.validate import report as rp
from liq_signals.validate.study import StudyResult, TuningScore, matches_defaults, pooled_score

TUNING_HEADERS = [
    "#",
    "candidate",
    "excess",
    "precision@k",
    "baseline",
    "lift",
    "Wilson 95%",
    "recall",
    "baseline recall",
    "dist bps",
    "hits/zones",
]
EVAL_HEADERS = [
    "window",
    "model",
    "horizon",
    "priors",
    "precision@k",
    "baseline",
    "lift",
    "Wilson 95%",
    "recall",
    "baseline recall",
    "dist bps",
    "events/zones",
    "windows",
]


def _pct(v) -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2%}"


def _num(v) -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3g}"


def _score_cells(s: TuningScore) -> list[str]:
    lo, hi = s.wilson95
    return [
        _pct(s.criterion),
        _pct(s.precision),
        _pct(s.baseline_precision),
        _num(s.lift),
        f"{_pct(lo)}–{_pct(hi)}",
        _pct(s.recall),
        _pct(s.baseline_recall),
        _num(s.zone_distance_bps),
        f"{s.hits}/{s.zones}",
    ]


def tuning_rows(r: StudyResult) -> list[list[str]]:
    t = r.tuning
    rows = []
    for i, c in enumerate(r.study.candidates):
        mark = (" (chosen)" if c is t.chosen else "") + (" (= current defaults)" if matches_defaults(c) else "")
        rows.append([str(i), c.name + mark] + _score_cells(t.scores[c.name]))
    return rows


def _label(r: StudyResult, name: str) -> str:
    if name == r.study.reference.name:
        return "pre-study"
    return "chosen"


def evaluation_rows(r: StudyResult) -> list[list[str]]:
    """Per window (tuning first) × priors × model × horizon, side 'all' (long and short zones pooled)."""
    rows = []
    runs = [(r.study.tuning, r.tuning.results)] + [(w, r.evaluation[w.name]) for w in r.study.evaluation]
    for w, by_cand in runs:
        for cname, res in by_cand.items():
            for m, mr in res.results.items():
                if not mr.scored:
                    rows.append([w.name, m, "", _label(r, cname), f"not scored: {mr.reason}"] + [""] * 8)
                    continue
                for h in res.config.horizons:
                    d = mr.metrics[h]["all"]
                    lo, hi = d["precision_wilson95"]
                    rows.append(
                        [
                            w.name,
                            m,
                            h,
                            _label(r, cname),
                            _pct(d["precision_at_k"]),
                            _pct(d["baseline_precision_at_k"]),
                            _num(d["lift"]),
                            f"{_pct(lo)}–{_pct(hi)}",
                            _pct(d["notional_recall"]),
                            _pct(d["baseline_notional_recall"]),
                            _num(d["zone_distance_bps"]),
                            f"{d['n_events']}/{d['n_zones']}",
                            str(mr.skipped[h]["scored"]),
                        ]
                    )
    return rows


def pooled_rows(r: StudyResult) -> list[list[str]]:
    """The criterion on each evaluation window (all scored models pooled), per priors."""
    rows = []
    for w in r.study.evaluation:
        for cname, res in r.evaluation[w.name].items():
            rows.append([w.name, _label(r, cname)] + _score_cells(pooled_score(res)))
    return rows


POOLED_HEADERS = [
    "window",
    "priors",
    "excess",
    "precision@k",
    "baseline",
    "lift",
    "Wilson 95%",
    "recall",
    "baseline recall",
    "dist bps",
    "hits/zones",
]


def _score_obj(s: TuningScore) -> dict:
    return {
        "excess_precision": s.criterion,
        "precision_at_k": s.precision,
        "baseline_precision_at_k": s.baseline_precision,
        "lift": s.lift,
        "precision_wilson95": list(s.wilson95),
        "notional_recall": s.recall,
        "baseline_notional_recall": s.baseline_recall,
        "zone_distance_bps": s.zone_distance_bps,
        "zones_hit": s.hits,
        "n_zones": s.zones,
    }


def _window_obj(w) -> dict:
    return {
        "name": w.name,
        "symbol": w.symbol,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "truth_end": w.truth_end.isoformat(),
        "horizons": list(w.horizons),
        "every": w.every,
        "warmup": w.warmup,
        "models": list(w.models),
        "proxy": w.proxy,
        "min_events": w.min_events,
        "top_k": w.top_k,
        "bucket_bps": w.bucket_bps,
        "baseline_draws": w.baseline_draws,
    }


def to_json_obj(r: StudyResult) -> dict:
    t = r.tuning
    return rp.json_ready(
        {
            "criterion": "pooled excess precision@k = (hits - baseline hits) / zones over tuning models x horizons x sides",
            "tuning_window": _window_obj(r.study.tuning),
            "evaluation_windows": [_window_obj(w) for w in r.study.evaluation],
            "candidates": [
                {
                    "name": c.name,
                    "overrides": ov.format_overrides(c.overrides),
                    "changed": c.changed,
                    "tuning": _score_obj(t.scores[c.name]),
                }
                for c in r.study.candidates
            ],
            "reference": t.reference.name,
            "chosen": t.chosen.name,
            "adopt": t.adopt,
            "reason": t.reason,
            "chosen_set_args": t.chosen.set_args,
            "current_defaults": [c.name for c in r.study.candidates if matches_defaults(c)],
            "evaluation": {
                w: {
                    ("pre-study" if c == r.study.reference.name else "chosen"): {
                        "candidate": c,
                        "pooled": _score_obj(pooled_score(res)),
                        "result": rp.to_json_obj(res),
                    }
                    for c, res in d.items()
                }
                for w, d in r.evaluation.items()
            },
        }
    )


def to_json(r: StudyResult) -> str:
    return json.dumps(to_json_obj(r), indent=2, allow_nan=False)


def _md_table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(out)


def markdown(r: StudyResult) -> str:
    """The study as Markdown: windows, tuning table, choice, evaluation tables."""
    t = r.tuning
    parts = ["# Prior study (generated by `liq-signals study-priors`)", "", f"Tuning: {r.study.tuning.label()}", ""]
    parts += [f"Evaluation: {w.label()}" for w in r.study.evaluation]
    parts += [
        "",
        "## Tuning window",
        "",
        _md_table(TUNING_HEADERS, tuning_rows(r)),
        "",
        f"Chosen: **{t.chosen.name}** — adopt: **{t.adopt}** — {t.reason}",
        "",
        f"As validate options: `{t.chosen.set_args}`",
        "",
        "## Evaluation windows (pooled over scored models and horizons)",
        "",
        _md_table(POOLED_HEADERS, pooled_rows(r)),
        "",
        "## Per model and horizon (side: all; the tuning window first)",
        "",
        _md_table(EVAL_HEADERS, evaluation_rows(r)),
        "",
    ]
    return "\n".join(parts)


def write_outputs(r: StudyResult, out_dir) -> list[Path]:
    """``study.json`` and ``study.md`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "study.json", out / "study.md"]
    paths[0].write_text(to_json(r), encoding="utf-8")
    paths[1].write_text(markdown(r), encoding="utf-8")
    return paths
