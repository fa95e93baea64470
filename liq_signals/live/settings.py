"""The ``liq-signals live`` config file (TOML or YAML), validated into :class:`LiveSettings`.

Top-level keys: ``instrument``, ``bar_type``, ``duration`` (e.g. "10m"; empty = until the replay ends or
Ctrl-C), ``[binance]`` (``base_url_http``, ``base_url_ws``), ``[client]`` (the
:class:`~liq_signals.live.config.LiqLiveDataClientConfig` fields ``oi_poll_secs``, ``gap_secs``,
``backoff_secs``, ``max_backoff_secs``, ``mark_price``, ``liquidations``), ``[replay]`` (``db``, ``start``,
``end``, ``speed`` replay-seconds per wall-second, 0 = as fast as possible, ``ingest_sample`` = ingest the
shipped BTCUSDT month into ``db`` when it is missing), ``[warm_start]`` (``source`` = "db" | "rest" | "none",
``db``, ``hours``), ``[venue]`` (``starting_balance``, ``leverage``), ``[actor]`` (+ ``[actor.engine]``) and
``[strategy]`` exactly as in the backtest configs. Paths are relative to the config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from liq_signals.errors import ConfigError

TOP_KEYS = {
    "instrument",
    "bar_type",
    "duration",
    "binance",
    "client",
    "replay",
    "warm_start",
    "venue",
    "actor",
    "strategy",
}
SECTION_KEYS = {
    "binance": {"base_url_http", "base_url_ws"},
    "client": {
        "oi_poll_secs",
        "gap_secs",
        "backoff_secs",
        "max_backoff_secs",
        "mark_wait_secs",
        "mark_price",
        "liquidations",
        "taker_ratio",
    },
    "replay": {"db", "start", "end", "speed", "ingest_sample"},
    "warm_start": {"source", "db", "hours"},
    "venue": {"starting_balance", "leverage"},
}


@dataclass
class LiveSettings:
    """A parsed live config (see module doc); ``source`` is the config file."""

    source: Path
    instrument: str
    bar_type: str
    duration: str | None = None
    binance: dict = field(default_factory=dict)
    client: dict = field(default_factory=dict)
    replay: dict = field(default_factory=dict)
    warm_start: dict = field(default_factory=dict)
    venue: dict = field(default_factory=dict)
    actor: dict = field(default_factory=dict)
    strategy: dict = field(default_factory=dict)

    def path(self, value: str | None) -> Path | None:
        """``value`` resolved against the config file's folder (None stays None)."""
        return None if value in (None, "") else (self.source.parent / value).resolve()


def load_live_settings(path: Path) -> LiveSettings:
    """Read and check ``path``; a bad key or value raises ``ConfigError`` naming the file and the key."""
    from liq_signals.backtest.config import read_config_file

    path = Path(path)
    data = read_config_file(path)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("instrument", "bar_type"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"{path}: {key} is required (a string)")
    for sec, keys in SECTION_KEYS.items():
        v = data.get(sec, {})
        if not isinstance(v, dict):
            raise ConfigError(f"{path}: [{sec}] must be a table")
        bad = sorted(set(v) - keys)
        if bad:
            raise ConfigError(f"{path}: [{sec}] unknown key(s) {', '.join(bad)} (known: {', '.join(sorted(keys))})")
    for sec in ("actor", "strategy"):
        if not isinstance(data.get(sec, {}), dict):
            raise ConfigError(f"{path}: [{sec}] must be a table")
    src = data.get("warm_start", {}).get("source", "db")
    if src not in ("db", "rest", "none"):
        raise ConfigError(f"{path}: warm_start.source must be db, rest or none, got {src!r}")
    speed = data.get("replay", {}).get("speed", 0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed < 0:
        raise ConfigError(f"{path}: replay.speed must be a number >= 0, got {speed!r}")
    duration = data.get("duration")
    if duration not in (None, ""):
        from liq_signals.times import to_duration_ns

        try:
            to_duration_ns(duration, "duration")
        except Exception as exc:
            raise ConfigError(f"{path}: duration: {exc}") from None
    return LiveSettings(
        path,
        data["instrument"],
        data["bar_type"],
        duration or None,
        *(dict(data.get(s, {})) for s in ("binance", "client", "replay", "warm_start", "venue", "actor", "strategy")),
    )
