"""Time-split study of the engine's priors (``liq-signals study-priors``).

The leverage mix (``tier_weights``), the decay (``tier_half_life_hours``) and the side attribution
(``side_attribution``) of ``EngineConfig`` are priors, not measurements. This module tests them with
``run_validation`` and keeps tuning and evidence apart in time:

1. every candidate of a small, fixed grid (``default_grid``) is validated on the **tuning** window only;
2. one criterion picks the best candidate (``TuningScore.criterion``): pooled *excess precision@k* =
   (zones hit − baseline zones hit) / zones, summed over the tuning models, horizons and both sides, on the
   tuning window. It is 0 for zones no better than the distance-matched random baseline and grows with
   hits that random zones at the same distances from price do not get. Ties go to the earlier candidate
   (the pre-study priors come first, then candidates that change fewer factors);
3. the choice is *supported* (``TuningOutcome.adopt``) only when it is not the pre-study candidate, its
   criterion is higher, and the lower end of its pooled precision's Wilson 95% interval lies above its
   pooled baseline precision (it beats chance on the tuning window);
4. the pre-study priors and the chosen candidate are then validated on the **evaluation** windows, which
   must start at or after the end of the tuning window (last snapshot + longest horizon): nothing the
   choice used is reported as evidence. Evaluation runs feed the engine history from before their start
   (warm-up) — inputs the engine would have had live — but score only liquidations after it.

A window reads engine inputs from ``start - warmup`` to ``end + longest horizon`` and ground truth from
``start`` to ``end + longest horizon`` (see ``StudyWindow.reads``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import pandas as pd

from liq_signals.engine import overrides as ov
from liq_signals.errors import ConfigError
from liq_signals.validate import metrics as mt
from liq_signals.validate.run import ValidateConfig, ValidationResult, parse_duration, parse_time, run_validation

# The engine's priors before the study (EngineConfig defaults up to issue 6); the grid is built around them.
PRE_STUDY_TIER_WEIGHTS = (0.25, 0.30, 0.25, 0.12, 0.08)  # over tiers 5/10/25/50/100x
PRE_STUDY_HALF_LIVES = (336.0, 168.0, 72.0, 24.0, 12.0)  # hours, per tier
LEVERAGE_MIXES = {  # name -> weights over 5/10/25/50/100x (normalised by the engine)
    "pre-study": PRE_STUDY_TIER_WEIGHTS,
    "flat": (0.2, 0.2, 0.2, 0.2, 0.2),
    "lower": (0.40, 0.35, 0.15, 0.06, 0.04),
    "higher": (0.10, 0.20, 0.30, 0.20, 0.20),
}
DECAY_SCALES = (1.0, 0.5, 2.0)  # multiplies every tier's pre-study half-life
SIDE_CHOICES = ("taker", "even")
BASELINE_DRAWS = 50


@dataclass(frozen=True)
class Candidate:
    """One set of priors: ``overrides`` = ``(field, value)`` pairs applied on top of ``EngineConfig``;
    ``changed`` = how many of the three factors differ from the pre-study priors (0 = pre-study)."""

    name: str
    overrides: tuple
    changed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", ov.normalise_overrides(self.overrides))

    @property
    def set_args(self) -> str:
        """The same priors as ``validate --set`` arguments."""
        return " ".join(f"--set {x}" for x in ov.override_text(self.overrides).split())


def default_grid() -> tuple[Candidate, ...]:
    """4 leverage mixes × 3 decay scalings × 2 side attributions = 24 candidates, pre-study first, then by
    the number of factors changed (fewer first), then in the order listed in this module."""
    out = []
    for (mi, (mix, w)), (di, scale), (si, side) in itertools.product(
        enumerate(LEVERAGE_MIXES.items()), enumerate(DECAY_SCALES), enumerate(SIDE_CHOICES)
    ):
        changed = (mi != 0) + (di != 0) + (si != 0)
        name = f"mix={mix} decay=x{scale:g} side={side}"
        overrides = (
            ("tier_weights", w),
            ("tier_half_life_hours", tuple(h * scale for h in PRE_STUDY_HALF_LIVES)),
            ("side_attribution", side),
        )
        out.append(((changed, mi, di, si), Candidate(name, overrides, changed)))
    return tuple(c for _, c in sorted(out, key=lambda x: x[0]))


@dataclass(frozen=True)
class StudyWindow:
    """One symbol and time range validated with fixed settings (see ``ValidateConfig`` for each field).

    ``start``/``end``: first/last snapshot time (naive UTC); ground truth is read up to ``truth_end`` =
    ``end`` + the longest horizon."""

    name: str
    symbol: str
    start: pd.Timestamp
    end: pd.Timestamp
    horizons: tuple
    every: str
    warmup: str
    models: tuple
    proxy: str | None = None
    min_events: int = 1
    top_k: int = 10
    bucket_bps: float = 10.0
    baseline_draws: int = BASELINE_DRAWS

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ConfigError("study window name must not be empty")
        object.__setattr__(self, "start", parse_time(self.start, f"{self.name}: start"))
        object.__setattr__(self, "end", parse_time(self.end, f"{self.name}: end"))
        object.__setattr__(self, "horizons", tuple(self.horizons))
        object.__setattr__(self, "models", tuple(self.models))
        self.validate_config("", ())  # checks every setting

    @property
    def truth_end(self) -> pd.Timestamp:
        """End of the last horizon window: the latest time whose data this window reads."""
        return self.end + max(parse_duration(h, "horizons") for h in self.horizons)

    def reads(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(first, last) time of any data a validation of this window loads: engine inputs from
        ``start - warmup``, price path and ground truth up to ``truth_end``."""
        return self.start - parse_duration(self.warmup, "warmup"), self.truth_end

    def validate_config(self, db_path: str, overrides) -> ValidateConfig:
        return ValidateConfig(
            db_path=db_path,
            symbol=self.symbol,
            start=self.start,
            end=self.end,
            models=self.models,
            horizons=self.horizons,
            every=self.every,
            top_k=self.top_k,
            min_events=self.min_events,
            proxy=self.proxy,
            seed=0,
            baseline_draws=self.baseline_draws,
            warmup=self.warmup,
            zones="buckets",
            bucket_bps=self.bucket_bps,
            engine_overrides=overrides,
        )

    def label(self) -> str:
        truth = "oi-drop PROXY" if self.proxy else "recorded liquidations"
        return (
            f"{self.name}: {self.symbol} {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC, "
            f"horizons {','.join(self.horizons)}, every {self.every}, warm-up {self.warmup}, {truth}"
        )


# The documented default split (shipped sample data). Tuning ends 2023-12-04 00:00 (20:00 + 4 h).
DEFAULT_TUNING = StudyWindow(
    "tune-btc-2023",
    "BTCUSDT",
    "2023-11-15 00:00",
    "2023-12-03 20:00",
    horizons=("1h", "4h"),
    every="1h",
    warmup="1d",
    models=("a", "b"),
    proxy="oi-drop",
)
DEFAULT_EVALUATION = (
    StudyWindow(
        "eval-btc-2023-12",
        "BTCUSDT",
        "2023-12-04 00:00",
        "2023-12-12 19:00",
        horizons=("1h", "4h"),
        every="1h",
        warmup="7d",
        models=("a", "b", "ensemble"),
        proxy="oi-drop",
    ),
    StudyWindow(
        "eval-btc-2025-01-27",
        "BTCUSDT",
        "2025-01-27 16:56",
        "2025-01-27 17:10",
        horizons=("5m", "10m"),
        every="1m",
        warmup="1d",
        models=("c", "ensemble"),
    ),
    StudyWindow(
        "eval-hype-2025-10-25",
        "HYPEUSDT",
        "2025-10-25 17:50",
        "2025-10-25 18:30",
        horizons=("15m", "30m"),
        every="5m",
        warmup="3d",
        models=("a", "b", "ensemble"),
    ),
)


@dataclass(frozen=True)
class PriorStudy:
    """The whole study: database, tuning window, evaluation windows (each must start at or after the
    tuning window's ``truth_end``), candidate grid (first = reference, the pre-study priors)."""

    db_path: str
    tuning: StudyWindow = DEFAULT_TUNING
    evaluation: tuple = DEFAULT_EVALUATION
    candidates: tuple = field(default_factory=default_grid)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluation", tuple(self.evaluation))
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not self.candidates:
            raise ConfigError("the study needs at least one candidate")
        names = [c.name for c in self.candidates]
        if len(set(names)) != len(names):
            raise ConfigError("candidate names must be distinct")
        for w in self.evaluation:
            if w.start < self.tuning.truth_end:
                raise ConfigError(
                    f"evaluation window {w.name} starts {w.start} before the tuning window {self.tuning.name} "
                    f"ends {self.tuning.truth_end} (last snapshot + longest horizon): split by time — "
                    f"evaluate only on data after the tuning window"
                )

    @property
    def reference(self) -> Candidate:
        return self.candidates[0]


@dataclass(frozen=True)
class TuningScore:
    """Pooled over models × horizons × both sides of one run (zones and hits are counts; recall USDT/USDT)."""

    hits: int
    baseline_hits: float
    zones: int
    captured_usd: float
    baseline_captured_usd: float
    realized_usd: float
    zone_distance_bps: float

    @property
    def precision(self) -> float:
        return self.hits / self.zones if self.zones else math.nan

    @property
    def baseline_precision(self) -> float:
        return self.baseline_hits / self.zones if self.zones else math.nan

    @property
    def criterion(self) -> float:
        """Excess precision@k: (hits − baseline hits) / zones; NaN with no zone scored."""
        return (self.hits - self.baseline_hits) / self.zones if self.zones else math.nan

    @property
    def lift(self) -> float:
        return self.hits / self.baseline_hits if self.baseline_hits > 0 else math.nan

    @property
    def wilson95(self) -> tuple[float, float]:
        return mt.wilson_interval(self.hits, self.zones)

    @property
    def recall(self) -> float:
        return self.captured_usd / self.realized_usd if self.realized_usd > 0 else math.nan

    @property
    def baseline_recall(self) -> float:
        return self.baseline_captured_usd / self.realized_usd if self.realized_usd > 0 else math.nan


def pooled_score(result: ValidationResult, models=None) -> TuningScore:
    """Sum the rows of the scored windows of ``models`` (default: every scored model) over horizons, side 'all'."""
    hits = zones = 0
    bhits = cap = bcap = real = 0.0
    dist = []
    for m, res in result.results.items():
        if not res.scored or (models is not None and m not in models):
            continue
        for row in res.rows:
            if row["status"] != "scored":
                continue
            hits += int(row["all_hits"])
            zones += int(row["all_zones"])
            bhits += float(row["all_base_hits"])
            cap += float(row["all_captured_usd"])
            bcap += float(row["all_base_captured_usd"])
            real += float(row["all_realized_usd"])
            dist.append(float(row["all_distance_bps"]))
    d = float(pd.Series(dist, dtype=float).median()) if dist else math.nan
    return TuningScore(hits, bhits, zones, cap, bcap, real, d)


@dataclass
class TuningOutcome:
    """Scores of every candidate on the tuning window, the chosen one and whether it is supported."""

    scores: dict  # candidate name -> TuningScore
    chosen: Candidate
    reference: Candidate
    adopt: bool
    reason: str
    results: dict = field(default_factory=dict)  # reference and chosen name -> tuning ValidationResult


def choose(candidates, scores: dict) -> tuple[Candidate, bool, str]:
    """Best candidate by ``criterion`` (first wins ties; NaN never wins) and whether it is supported."""
    ref = candidates[0]
    best = ref
    for c in candidates[1:]:
        s, b = scores[c.name].criterion, scores[best.name].criterion
        if not math.isnan(s) and (math.isnan(b) or s > b):
            best = c
    if best is ref:
        return best, False, "the pre-study priors score best on the tuning window: nothing to change"
    sb = scores[best.name]
    lo, _ = sb.wilson95
    if not lo > sb.baseline_precision:
        return (
            best,
            False,
            (
                f"{best.name} scores best but its precision's Wilson 95% lower bound "
                f"({lo:.2%}) is not above its baseline ({sb.baseline_precision:.2%}): not supported"
            ),
        )
    return (
        best,
        True,
        (
            f"{best.name}: excess precision {sb.criterion:.2%} vs {scores[ref.name].criterion:.2%} "
            f"for the pre-study priors; Wilson 95% lower bound {lo:.2%} > baseline "
            f"{sb.baseline_precision:.2%}"
        ),
    )


def tune(study: PriorStudy, progress=None) -> TuningOutcome:
    """Validate every candidate on the tuning window (models ``study.tuning.models``) and choose."""
    scores, results = {}, {}
    for c in study.candidates:
        results[c.name] = run_validation(study.tuning.validate_config(study.db_path, c.overrides))
        scores[c.name] = pooled_score(results[c.name], study.tuning.models)
        if progress is not None:
            progress(c)
    chosen, adopt, reason = choose(study.candidates, scores)
    keep = {study.reference.name: results[study.reference.name], chosen.name: results[chosen.name]}
    return TuningOutcome(scores, chosen, study.reference, adopt, reason, keep)


def matches_defaults(candidate: Candidate) -> bool:
    """Does ``candidate`` give the same engine as today's ``EngineConfig`` defaults?"""
    from liq_signals.engine.engine import EngineConfig

    return ov.apply_overrides(candidate.overrides) == EngineConfig()


@dataclass
class StudyResult:
    study: PriorStudy
    tuning: TuningOutcome
    evaluation: dict  # window name -> {candidate name: ValidationResult}


def evaluate(study: PriorStudy, candidates, progress=None) -> dict:
    """Validate ``candidates`` on every evaluation window: {window name: {candidate name: result}}."""
    out = {}
    for w in study.evaluation:
        out[w.name] = {}
        for c in candidates:
            out[w.name][c.name] = run_validation(w.validate_config(study.db_path, c.overrides))
            if progress is not None:
                progress(c)
    return out


def run_study(study: PriorStudy, progress=None) -> StudyResult:
    """Tune, then evaluate the pre-study priors and the chosen candidate (once when they are the same)."""
    outcome = tune(study, progress)
    cands = [study.reference] + ([outcome.chosen] if outcome.chosen is not study.reference else [])
    return StudyResult(study, outcome, evaluate(study, cands, progress))
