"""Limits and plausibility bounds applied to every ingested file (docs/data-limits.md lists them).

Resource limits stop hostile or broken input early (a zip bomb, a file that is one endless line); plausibility
bounds refuse values that parse but cannot be real (a price of 1e300 USDT, a row dated next year). Each refusal
is one ``InputFileError`` naming the file (and row / field when there is one). Every limit has an ingest option.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from liq_signals.errors import ConfigError, InputFileError
from liq_signals.times import NS_PER_DAY

MIB = 1 << 20


@dataclass(frozen=True)
class IngestLimits:
    """Defaults are generous for real Binance files (a monthly BTCUSDT aggTrades CSV is ~2-3 GB unzipped at a
    ratio of ~5-10).

    - ``max_unzipped_mb``: the CSV inside a zip may unpack to at most this many MiB (``--max-unzipped-mb``);
    - ``max_ratio``: ... and to at most this many times its compressed size (``--max-ratio``; members under
      1 MiB unpacked are exempt from the ratio, tiny files compress oddly);
    - ``max_line_kb``: no line may be longer than this many KiB (``--max-line-kb``);
    - ``max_columns``: no line may have more fields than this (``--max-columns``);
    - ``max_value``: prices (USDT), open interest (base) and its value (USDT), trade and liquidation quantities
      (base) must be below this (``--max-value``); they must also be > 0 (OI >= 0) whatever the option;
    - ``future_slack_ns``: rows dated later than now + this are refused (``--future-slack``, a duration).
    """

    max_unzipped_mb: float = 8192.0
    max_ratio: float = 100.0
    max_line_kb: int = 64
    max_columns: int = 64
    max_value: float = 1e12
    future_slack_ns: int = NS_PER_DAY

    def __post_init__(self) -> None:
        for name in ("max_unzipped_mb", "max_ratio", "max_line_kb", "max_columns", "max_value", "future_slack_ns"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"{name.replace('_ns', '').replace('_', '-')}: must be positive (got {getattr(self, name)})"
                )

    @property
    def max_line_bytes(self) -> int:
        return int(self.max_line_kb * 1024)


DEFAULT_LIMITS = IngestLimits()


def read_line(f, limits: IngestLimits, display: str, row: int) -> bytes:
    """One line (bytes) of a binary file, refusing one longer than the limit without reading all of it."""
    raw = f.readline(limits.max_line_bytes + 1)
    if len(raw) > limits.max_line_bytes and not raw.endswith(b"\n"):
        raise InputFileError(display, f"line longer than {limits.max_line_kb} KiB (limit --max-line-kb)", row=row)
    return raw


def check_columns(line: str, limits: IngestLimits, display: str, row: int) -> None:
    n = line.count(",") + 1
    if n > limits.max_columns:
        raise InputFileError(display, f"{n} columns, more than the limit {limits.max_columns} (--max-columns)", row=row)


def extract_member(zf: zipfile.ZipFile, member: str, target: Path, limits: IngestLimits, display: str) -> None:
    """Stream one zip member to ``target``, refusing it (before and while unpacking: the declared size can lie)
    once it passes the absolute or the ratio limit."""
    info = zf.getinfo(member)
    cap = int(limits.max_unzipped_mb * MIB)
    ratio_cap = max(int(limits.max_ratio * max(info.compress_size, 1)), MIB)
    limit = min(cap, ratio_cap)

    def refuse(size_text: str) -> InputFileError:
        if limit == cap:
            why = f"more than {limits.max_unzipped_mb:g} MiB (limit --max-unzipped-mb)"
        else:
            why = (
                f"more than {limits.max_ratio:g} x its compressed size of {info.compress_size} bytes "
                f"(limit --max-ratio)"
            )
        return InputFileError(display, f"zip member {member} unpacks to {size_text}, {why}")

    if info.file_size > limit:
        raise refuse(f"{info.file_size} bytes (declared)")
    n = 0
    with zf.open(member) as src, open(target, "wb") as dst:
        while True:
            chunk = src.read(MIB)
            if not chunk:
                break
            n += len(chunk)
            if n > limit:
                raise refuse(f"over {limit} bytes")
            dst.write(chunk)
