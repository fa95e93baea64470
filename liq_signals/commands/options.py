"""Options shared by the sub-commands: the one default database path and unit-checked durations.

Every command that reads the DuckDB store defaults ``--db`` to :data:`DEFAULT_DB`
(``data/liq_signals.duckdb`` relative to the current directory), which is also where ``demo`` ingests.
"""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.data.db import DEFAULT_PATH
from liq_signals.times import to_duration_ns

DEFAULT_DB = DEFAULT_PATH
MAX_SNAPSHOTS = 50_000  # snapshot times one command may step through (guards against e.g. --every 1s)


def db_option(help: str = "DuckDB file written by `ingest` (default: data/liq_signals.duckdb).") -> Path:
    """The ``--db`` option of a command that reads the store (typer ``Option`` object, default DEFAULT_DB)."""
    return typer.Option(DEFAULT_DB, "--db", help=help)


def duration_ns(value: str, option: str) -> int:
    """Nanoseconds of a duration option value such as ``15m``; a bare number (``60``) is refused with a
    one-line error naming ``option`` (``LiqSignalsError``)."""
    return to_duration_ns(value, option)


def duration_list_ns(text: str, option: str) -> list[int]:
    """Nanoseconds of each item of a comma list of durations (``1h,4h``); empty items are refused."""
    items = [s.strip() for s in str(text).split(",")]
    if not items or any(not s for s in items):
        from liq_signals.errors import LiqSignalsError

        raise LiqSignalsError(f"{option}: expected a comma list of durations such as 1h,4h, got {text!r}")
    return [to_duration_ns(s, option) for s in items]


def check_snapshot_count(t0_ns: int, t1_ns: int, step_ns: int, every: str) -> int:
    """Number of snapshots from t0 to t1 (epoch ns) every ``step_ns``; refuses more than MAX_SNAPSHOTS."""
    from liq_signals.errors import LiqSignalsError

    n = (t1_ns - t0_ns) // step_ns + 1
    if n > MAX_SNAPSHOTS:
        raise LiqSignalsError(
            f"--every {every} gives {n:,} snapshots from --start to --end "
            f"(at most {MAX_SNAPSHOTS:,}); use a longer --every"
        )
    return n
