"""Backtest config files: reading (TOML/YAML), merging run overrides, expanding sweeps, run ids.

A config holds base settings and optionally ``runs`` (a list of overrides, each with an ``id``) and
``sweep`` (``{"actor.proximity_bps": [25, 50, 100]}``: one run per value combination, per run). Keys:

- ``catalog`` (path, relative to the config file), ``instrument`` (e.g. ``BTCUSDT-PERP.BINANCE``),
  ``bar_type`` (e.g. ``BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL``), ``start``/``end`` (ISO UTC);
- ``venue``: ``starting_balance`` ("100000 USDT"), ``leverage`` (x), ``oms_type`` ("NETTING"/"HEDGING"),
  ``funding`` (default true: the catalog's funding rates are settled on open positions, see
  :mod:`liq_signals.backtest.funding`);
- ``actor``: ``LiquidationSignalActorConfig`` fields (``engine`` sub-table for ``EngineConfig`` fields);
- ``strategy`` (optional): ``kind`` = ``avoid`` | ``magnet`` and that strategy's config fields
  (``instrument_id``/``bar_type`` are filled in);
- ``flush_check`` (optional): ``time`` (ISO UTC, on the heatmap cadence) and ``bars`` (default 1);
- ``baseline`` (optional): ``"no_signal"`` | ``"buy_and_hold"`` | ``"none"`` (default), see :mod:`.baseline`;
- ``walk_forward`` (optional): selection and report periods and the metric, see :mod:`.walk_forward`;
- ``max_runs`` (optional, default :data:`DEFAULT_MAX_RUNS`): a config expanding to more runs is refused.

Every table and sweep key is checked against its target config class (:mod:`.schema`) and every run is
validated before the first one starts; a mistake raises one ``ConfigError`` naming the file, run and field.
"""

from __future__ import annotations

import copy
import itertools
import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from liq_signals.errors import ConfigError

DEFAULT_MAX_RUNS = 1000
TOP_KEYS = (
    "catalog",
    "instrument",
    "bar_type",
    "start",
    "end",
    "venue",
    "actor",
    "strategy",
    "flush_check",
    "baseline",
    "walk_forward",
    "runs",
    "sweep",
    "id",
    "max_runs",
)


@dataclass(frozen=True)
class RunSpec:
    """One resolved run: ``id``, the merged settings and the config file it came from."""

    id: str
    settings: dict
    source: Path

    @property
    def catalog_path(self) -> Path:
        return (self.source.parent / self.settings["catalog"]).resolve()

    @property
    def where(self) -> str:
        return f"{self.source}: run '{self.id}'"


def read_config_file(path: Path) -> dict:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"{path}: config must be .toml, .yaml or .yml")
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # yaml.YAMLError
        raise ConfigError(f"{path}: cannot parse: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a table/mapping")
    return data


def merge(base: dict, override: dict) -> dict:
    """Deep merge: tables merge key by key, anything else in ``override`` replaces."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def set_path(d: dict, dotted: str, value) -> dict:
    """Copy of ``d`` with ``value`` at the dotted key (tables created as needed)."""
    out = copy.deepcopy(d)
    node = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"sweep key '{dotted}': '{p}' is not a table")
    node[parts[-1]] = value
    return out


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_run_id(run_id, where: str) -> str:
    """A run id names a folder under ``--out``: no path separators, no ``..``, not empty or absolute."""
    rid = str(run_id) if isinstance(run_id, (str, int)) and not isinstance(run_id, bool) else None
    if rid is None or not rid.strip():
        raise ConfigError(f"{where}: run id {run_id!r} must be a non-empty name")
    if "/" in rid or "\\" in rid or rid in (".", "..") or ".." in rid or rid.startswith("~") or "\0" in rid:
        raise ConfigError(f"{where}: run id {rid!r} must be a plain name (no path separators, '..' or absolute paths)")
    return rid


def _max_runs(value, path: Path, override: int | None) -> int:
    if override is not None:
        value = override
    if value is None:
        return DEFAULT_MAX_RUNS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path}: max_runs must be an integer >= 1, got {value!r}")
    return value


def expand_runs(path: Path, data: dict, max_runs: int | None = None) -> list[RunSpec]:
    """The runs of a parsed config (base ⊕ run overrides ⊕ sweep values), unvalidated; refuses more than
    ``max_runs`` (argument, else the config's ``max_runs``, else :data:`DEFAULT_MAX_RUNS`) before expanding."""
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(TOP_KEYS))})")
    limit = _max_runs(data.get("max_runs"), path, max_runs)
    base = {k: v for k, v in data.items() if k not in ("runs", "sweep", "max_runs", "walk_forward")}
    runs = data.get("runs") or [{"id": base.pop("id", path.stem)}]
    base.pop("id", None)
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{path}: 'runs' must be a list of tables")
    sweep = data.get("sweep") or {}
    if not isinstance(sweep, dict) or not all(isinstance(v, list) and v for v in sweep.values()):
        raise ConfigError(f"{path}: 'sweep' must map dotted keys to non-empty lists")
    total = len(runs) * math.prod(len(v) for v in sweep.values())
    if total > limit:
        raise ConfigError(
            f"{path}: {total:,} runs ({len(runs)} run(s) x sweep "
            f"{' x '.join(str(len(v)) for v in sweep.values()) or '1'}) exceed max_runs {limit:,} "
            "(raise it with `max_runs = N` in the config or --max-runs N)"
        )
    keys = list(sweep)
    specs: list[RunSpec] = []
    for i, run in enumerate(runs):
        if "id" not in run:
            raise ConfigError(f"{path}: runs[{i}] needs an 'id'")
        rid = check_run_id(run["id"], f"{path}: runs[{i}]")
        merged = merge(base, {k: v for k, v in run.items() if k != "id"})
        for values in itertools.product(*(sweep[k] for k in keys)):
            settings = merged
            suffix = ""
            for k, v in zip(keys, values):
                settings = set_path(settings, k, v)
                suffix += f"-{k.split('.')[-1]}{_fmt(v)}"
            specs.append(RunSpec(check_run_id(rid + suffix, f"{path}: runs[{i}]"), settings, path))
    counts = Counter(s.id for s in specs)
    dupes = sorted(i for i, n in counts.items() if n > 1)
    if dupes:
        raise ConfigError(f"{path}: duplicate run id(s) {', '.join(dupes[:10])}{' ...' if len(dupes) > 10 else ''}")
    return specs


def load_runs(path: Path, max_runs: int | None = None) -> list[RunSpec]:
    """Resolve and validate every run of a config file (nothing runs yet); ``ConfigError`` on any mistake."""
    from liq_signals.backtest.schema import validate_run, validate_sweep_keys
    from liq_signals.backtest.walk_forward import parse as parse_walk_forward

    path = Path(path).resolve()
    data = read_config_file(path)
    wf = parse_walk_forward(path, data)
    if wf is not None:  # the runs are those of the selection period; see liq_signals.backtest.walk_forward
        data = {
            **{k: v for k, v in data.items() if k != "walk_forward"},
            "start": wf.select_start,
            "end": wf.select_end,
        }
    specs = expand_runs(path, data, max_runs)
    validate_sweep_keys(path, data.get("sweep") or {}, specs)
    for s in specs:
        validate_run(s)
    return specs
