"""Time conversions used everywhere in liq_signals: one parser for instants, one for durations.

Inside the engine and the Nautilus layer a time is **epoch nanoseconds (int, UTC)**; in DuckDB it is a naive
``TIMESTAMP`` in UTC; in files and outputs it is ISO 8601 UTC. A naive input time is read as UTC. Durations
always carry a unit (``15m``, ``1h``, ``3d``, ``500ms``): a bare number is refused, since "60" could mean
seconds, minutes or nanoseconds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from liq_signals.errors import LiqSignalsError

if TYPE_CHECKING:  # pandas is imported inside the functions: the CLI imports this module at start-up
    import pandas as pd

NS_PER_SECOND = 10**9
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR

_UNITLESS = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def to_timestamp(t, what: str = "time") -> pd.Timestamp:
    """A tz-aware UTC ``pd.Timestamp`` of an ISO string, datetime, Timestamp or int epoch ns (naive = UTC).

    Raises ``LiqSignalsError`` naming ``what`` (e.g. ``--start``) for anything that is not a time."""
    import pandas as pd

    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        return pd.Timestamp(int(t), unit="ns", tz="UTC")
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError, OverflowError):
        raise LiqSignalsError(
            f"{what}: not a time: {t!r} (use ISO 8601 UTC, e.g. 2023-12-01 or 2023-12-01T12:00)"
        ) from None
    if ts is pd.NaT:
        raise LiqSignalsError(f"{what}: not a time: {t!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def to_ns(t, what: str = "time") -> int:
    """Epoch nanoseconds (UTC) of a time (see :func:`to_timestamp`)."""
    return int(to_timestamp(t, what).value)


def to_naive_utc(t, what: str = "time") -> pd.Timestamp:
    """The naive-UTC ``pd.Timestamp`` DuckDB's ``TIMESTAMP`` columns compare with."""
    return to_timestamp(t, what).tz_localize(None)


def ns_to_iso(ns: int) -> str:
    """ISO 8601 UTC text (``2023-12-11T02:00:00+00:00``) of epoch nanoseconds."""
    import pandas as pd

    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()


def to_duration_ns(value, what: str = "duration") -> int:
    """Positive duration in nanoseconds of ``15m``, ``1h``, ``3d``, ``500ms``, a ``Timedelta`` ...

    A number without a unit is refused (``LiqSignalsError`` naming ``what``), as is zero or a negative value."""
    import pandas as pd

    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        raise LiqSignalsError(f"{what}: {value!r} has no unit (write e.g. 15m, 1h, 3d)")
    if isinstance(value, str) and _UNITLESS.match(value):
        raise LiqSignalsError(f"{what}: {value!r} has no unit (write e.g. 15m, 1h, 3d)")
    try:
        ns = int(pd.Timedelta(value).value)
    except (ValueError, TypeError, OverflowError):
        raise LiqSignalsError(f"{what}: not a duration: {value!r} (write e.g. 15m, 1h, 3d)") from None
    if ns <= 0:
        raise LiqSignalsError(f"{what}: duration must be positive, got {value!r}")
    return ns
