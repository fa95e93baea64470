"""Download Binance USD-M futures archives from data.binance.vision, verified against their ``.CHECKSUM``.

Layout (the same relative path is mirrored under the destination directory, so ``liq-signals ingest DEST``
can walk it later)::

    {base}/data/futures/um/daily/<kind>/<SYMBOL>/[<interval>/]<SYMBOL>-<interval|kind>-YYYY-MM-DD.zip
    {base}/data/futures/um/monthly/<kind>/<SYMBOL>/[<interval>/]<SYMBOL>-<interval|kind>-YYYY-MM.zip

each with ``<file>.zip.CHECKSUM`` beside it (``<sha256 hex>  <file name>``).

Archive choice (``plan_archives``), per kind and calendar month (UTC dates, ``start``/``end`` inclusive):

- kinds with daily archives only (``metrics``): one daily file per day;
- kinds with monthly archives only (``fundingRate``): one monthly file per month touched by the range (the file
  covers the whole month, so a partial-month request downloads a little more than asked);
- kinds with both (klines, aggTrades, ...): a monthly file when the whole month lies inside the range *and* the
  month has ended before ``today``; daily files for the remaining days. Binance publishes a monthly archive a
  few days after the month ends: when that monthly file answers 404, its days are fetched as daily files instead.

Length: the archive plan, the verified, capped, resumable-or-discarded transfer of one file and the retry loop
share one set of limits and one error vocabulary; they are kept together so the caps cannot drift apart.

Each file: a local zip whose sha256 matches the local ``.CHECKSUM`` is skipped with no network request at all; a
local zip without a local ``.CHECKSUM`` is checked against the remote one (no body download when it matches).
Otherwise the body is streamed to a temporary name in the destination folder, hashed, and renamed atomically
only once it matches; the ``.CHECKSUM`` is written after the zip (also atomically). Connection errors, timeouts,
HTTP 408/429/5xx and checksum mismatches are retried with exponential backoff; a 404 means "no data published"
(reported, not an error). Only the standard library (urllib) is used.
"""

from __future__ import annotations

import calendar
import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from liq_signals.errors import ConfigError, LiqSignalsError

DEFAULT_BASE_URL = "https://data.binance.vision"
UM_PREFIX = "data/futures/um"
CHUNK_BYTES = 1 << 20
USER_AGENT = "liq-signals-downloader"

#: Kline intervals Binance publishes on data.binance.vision.
KLINE_INTERVALS = frozenset(
    ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1mo"]
)


@dataclass(frozen=True)
class KindSpec:
    """Which archive periods a Vision data kind has and whether it needs a kline interval."""

    name: str
    daily: bool
    monthly: bool
    needs_interval: bool


KIND_SPECS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec("klines", daily=True, monthly=True, needs_interval=True),
        KindSpec("markPriceKlines", daily=True, monthly=True, needs_interval=True),
        KindSpec("indexPriceKlines", daily=True, monthly=True, needs_interval=True),
        KindSpec("metrics", daily=True, monthly=False, needs_interval=False),
        KindSpec("fundingRate", daily=False, monthly=True, needs_interval=False),
        KindSpec("aggTrades", daily=True, monthly=True, needs_interval=False),
    )
}

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


# ----------------------------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class KindRequest:
    """One requested data kind, with its kline interval when the kind needs one (e.g. ``klines:1m``)."""

    kind: str
    interval: str | None = None

    def __post_init__(self) -> None:
        spec = KIND_SPECS.get(self.kind)
        if spec is None:
            raise ConfigError(f"kinds: unknown kind '{self.kind}' (known: {', '.join(KIND_SPECS)})")
        if spec.needs_interval and not self.interval:
            raise ConfigError(f"kinds: '{self.kind}' needs an interval, e.g. '{self.kind}:1m'")
        if not spec.needs_interval and self.interval:
            raise ConfigError(f"kinds: '{self.kind}' takes no interval (got '{self.kind}:{self.interval}')")
        if self.interval and self.interval not in KLINE_INTERVALS:
            raise ConfigError(
                f"kinds: unknown interval '{self.interval}' for '{self.kind}' "
                f"(known: {', '.join(sorted(KLINE_INTERVALS))})"
            )

    @property
    def spec(self) -> KindSpec:
        return KIND_SPECS[self.kind]

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.interval}" if self.interval else self.kind


def parse_kinds(text: str) -> list[KindRequest]:
    """Parse ``"klines:1m,metrics,fundingRate"`` (kind names case-insensitive) into unique ``KindRequest``s."""
    by_lower = {name.lower(): name for name in KIND_SPECS}
    out: list[KindRequest] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, interval = item.partition(":")
        canonical = by_lower.get(name.strip().lower())
        if canonical is None:
            raise ConfigError(f"kinds: unknown kind '{name.strip()}' (known: {', '.join(KIND_SPECS)})")
        req = KindRequest(canonical, interval.strip() or None)
        if req not in out:
            out.append(req)
    if not out:
        raise ConfigError("kinds: no kind given (e.g. 'klines:1m,metrics,fundingRate')")
    return out


def parse_date(text: str, name: str) -> date:
    """Parse a ``YYYY-MM-DD`` UTC calendar date; ``name`` is the argument named in the error."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{name}: '{text}' is not a date in YYYY-MM-DD form") from None


def normalize_symbol(symbol: str) -> str:
    """Upper-case a USD-M symbol (``btcusdt`` → ``BTCUSDT``) and reject anything that is not letters/digits."""
    sym = symbol.strip().upper()
    if not _SYMBOL_RE.match(sym):
        raise ConfigError(f"symbol: '{symbol}' is not a Binance symbol such as BTCUSDT")
    return sym


# ----------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class ArchiveFile:
    """One Vision archive: ``period`` is ``daily`` or ``monthly``; ``day`` is the day (daily) or the month's 1st."""

    symbol: str
    kind: str
    interval: str | None
    period: str
    day: date

    @property
    def stamp(self) -> str:
        return self.day.isoformat() if self.period == "daily" else self.day.strftime("%Y-%m")

    @property
    def file_name(self) -> str:
        return f"{self.symbol}-{self.interval or self.kind}-{self.stamp}.zip"

    @property
    def rel_path(self) -> str:
        """Path relative to the base URL and to the destination directory (POSIX separators)."""
        parts = [UM_PREFIX, self.period, self.kind, self.symbol]
        if self.interval:
            parts.append(self.interval)
        parts.append(self.file_name)
        return "/".join(parts)

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.rel_path}"

    def days(self) -> list[date]:
        """The UTC days the archive covers."""
        if self.period == "daily":
            return [self.day]
        n = calendar.monthrange(self.day.year, self.day.month)[1]
        return [self.day + timedelta(days=i) for i in range(n)]


def _month_starts(start: date, end: date) -> Iterable[date]:
    m = start.replace(day=1)
    while m <= end:
        yield m
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)


def _daily_files(symbol: str, req: KindRequest, first: date, last: date) -> list[ArchiveFile]:
    n = (last - first).days + 1
    return [ArchiveFile(symbol, req.kind, req.interval, "daily", first + timedelta(days=i)) for i in range(n)]


def plan_archives(
    symbol: str, kinds: Iterable[KindRequest], start: date, end: date, today: date | None = None
) -> list[ArchiveFile]:
    """The archives covering ``start``..``end`` (inclusive UTC days) per kind, by the rule in the module doc.

    ``today`` (UTC, default: now) decides which months are over and may have a monthly archive.
    """
    if end < start:
        raise ConfigError(f"end: {end.isoformat()} is before start {start.isoformat()}")
    symbol = normalize_symbol(symbol)
    today = today or datetime.now(UTC).date()
    files: list[ArchiveFile] = []
    for req in kinds:
        spec = req.spec
        for month in _month_starts(start, end):
            month_last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
            whole = start <= month and month_last <= end
            if spec.monthly and (not spec.daily or (whole and month_last < today)):
                files.append(ArchiveFile(symbol, req.kind, req.interval, "monthly", month))
            else:
                files.extend(_daily_files(symbol, req, max(start, month), min(end, month_last)))
    return files


def daily_fallback(archive: ArchiveFile, start: date, end: date) -> list[ArchiveFile]:
    """Daily archives replacing a monthly one that is not (yet) published, clipped to ``start``..``end``."""
    if archive.period != "monthly" or not KIND_SPECS[archive.kind].daily:
        return []
    days = [d for d in archive.days() if start <= d <= end]
    if not days:
        return []
    req = KindRequest(archive.kind, archive.interval)
    return _daily_files(archive.symbol, req, days[0], days[-1])


# ----------------------------------------------------------------------------------------------- transfer


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient failures: ``attempts`` tries in total per file, waiting ``base_delay_s`` × 2^k
    seconds (capped at ``max_delay_s``) before try k+2. ``timeout_s`` bounds each request as a whole (connect +
    the complete body, seconds): a server that trickles bytes cannot keep one request alive longer (it also is
    the socket timeout). ``max_file_mb``: a body larger than this (MiB, by Content-Length or by counting) is
    refused without retry."""

    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    timeout_s: float = 600.0
    max_file_mb: float = 8192.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"attempts: must be at least 1 (got {self.attempts})")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ConfigError("retry delay: must not be negative")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout: must be positive (got {self.timeout_s})")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max-file-mb: must be positive (got {self.max_file_mb})")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * (1 << 20))

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` (>= 1) failures."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (failed_attempts - 1))


DOWNLOADED, SKIPPED, MISSING, FAILED = "downloaded", "skipped-verified", "missing-404", "failed"
#: A monthly archive answering 404 whose days were queued as daily archives instead (not a failure).
REPLACED = "monthly-404-daily-instead"
STATUSES = (DOWNLOADED, SKIPPED, MISSING, REPLACED, FAILED)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one archive; ``message`` is one line (names the URL for missing/failed files)."""

    archive: ArchiveFile
    status: str
    url: str
    message: str = ""
    bytes: int = 0
    replaced_by: tuple[ArchiveFile, ...] = ()


@dataclass
class DownloadReport:
    """All outcomes of a run, in processing order."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    def counts(self) -> dict[str, int]:
        return {s: len(self.with_status(s)) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """True when nothing failed (404s are not failures)."""
        return not self.with_status(FAILED)


class _NotFound(Exception):
    pass


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_checksum(text: str, file_name: str, url: str) -> str:
    """The sha256 hex in a ``.CHECKSUM`` body (``<hex>  <file name>``); raises ``_Permanent`` when malformed."""
    parts = text.strip().split()
    if not parts or not _SHA256_RE.match(parts[0].lower()):
        raise _Permanent(f"{url}: malformed CHECKSUM (expected '<sha256 hex>  {file_name}')")
    if len(parts) > 1 and parts[-1].lstrip("*") != file_name:
        raise _Permanent(f"{url}: CHECKSUM names '{parts[-1]}', expected '{file_name}'")
    return parts[0].lower()


def _read_local_checksum(path: Path, file_name: str) -> str | None:
    try:
        return parse_checksum(path.read_text(encoding="utf-8", errors="replace"), file_name, str(path))
    except (OSError, _Permanent):
        return None


def _open(url: str, timeout: float, method: str = "GET"):
    req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked by caller)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            raise _NotFound(f"{url}: 404 not found") from None
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Transient(f"{url}: HTTP {exc.code}") from None
        raise _Permanent(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"{url}: {type(exc).__name__}: {reason}") from None


def _read_body(resp, url: str, deadline: float, max_bytes: int, timeout: float, sink=None, what: str = "body"):
    """Read a response body chunk by chunk (``read1``: one socket read at a time, so a trickling server is seen),
    refusing it past ``deadline`` (``time.monotonic``) or past ``max_bytes``; chunks go to ``sink`` (or are
    collected and returned). Returns (bytes or None, byte count)."""
    length = resp.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise _Permanent(
            f"{url}: {what} of {int(length)} bytes is larger than the limit of {max_bytes} bytes (--max-file-mb)"
        )
    parts, n = [], 0
    while True:
        chunk = resp.read1(CHUNK_BYTES)
        if not chunk:
            break
        n += len(chunk)
        if n > max_bytes:
            raise _Permanent(f"{url}: {what} larger than the limit of {max_bytes} bytes (--max-file-mb)")
        if sink is None:
            parts.append(chunk)
        else:
            sink(chunk)
        if time.monotonic() > deadline:
            raise _Transient(f"{url}: transfer not finished within --timeout {timeout:g} s ({n} bytes received)")
    return (b"".join(parts) if sink is None else None), n


def _fetch_text(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    try:
        with _open(url, timeout) as resp:
            data, _ = _read_body(resp, url, deadline, 64 * 1024, timeout, what="CHECKSUM file")
            return data.decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise _Transient(f"{url}: {type(exc).__name__}: {exc}") from None


def _exists(url: str, timeout: float) -> bool:
    try:
        with _open(url, timeout, method="HEAD"):
            return True
    except _NotFound:
        return False


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _stream_to(url: str, target: Path, expected_sha: str, timeout: float, max_bytes: int = 1 << 62) -> int:
    """Download ``url`` to a temp name beside ``target``, verify sha256, rename atomically; return the byte count.
    The whole request must finish within ``timeout`` seconds and the body stay within ``max_bytes``."""
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    h = hashlib.sha256()
    deadline = time.monotonic() + timeout
    try:
        try:
            with _open(url, timeout) as resp, open(tmp, "wb") as out:

                def sink(chunk: bytes) -> None:
                    h.update(chunk)
                    out.write(chunk)

                _, n = _read_body(resp, url, deadline, max_bytes, timeout, sink=sink)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)):
                raise _Transient(f"{url}: {type(exc).__name__}: {exc}") from None
            raise _Permanent(f"{target}: cannot write: {exc}") from None
        got = h.hexdigest()
        if got != expected_sha:
            raise _Transient(f"{url}: checksum mismatch (sha256 {got}, CHECKSUM says {expected_sha})")
        os.replace(tmp, target)
        return n
    finally:
        tmp.unlink(missing_ok=True)


def fetch_archive(
    archive: ArchiveFile,
    dest: Path,
    base_url: str = DEFAULT_BASE_URL,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> FileOutcome:
    """Make ``dest/<rel_path>`` a verified copy of one archive (see module doc); never raises for network trouble."""
    url = archive.url(base_url)
    checksum_url = url + ".CHECKSUM"
    target = Path(dest) / archive.rel_path
    checksum_path = target.with_name(target.name + ".CHECKSUM")

    # temp files of an earlier run that was killed (SIGKILL, power loss) are discarded, never resumed
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{target.name}.part-*"):
            stale.unlink(missing_ok=True)
    if target.is_file():
        local_sha = _read_local_checksum(checksum_path, archive.file_name)
        if local_sha is not None and sha256_file(target) == local_sha:
            return FileOutcome(archive, SKIPPED, url, "verified against local CHECKSUM")

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return FileOutcome(archive, FAILED, url, f"{target.parent}: cannot create folder: {exc}")

    last_error = ""
    local_is_bad = False  # an existing local zip proven not to match the remote CHECKSUM
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1:
            sleep(policy.delay(attempt - 1))
        try:
            try:
                checksum_text = _fetch_text(checksum_url, policy.timeout_s)
            except _NotFound:
                if _exists(url, policy.timeout_s):
                    raise _Permanent(f"{url}: archive exists but {checksum_url} is 404, cannot verify") from None
                return FileOutcome(archive, MISSING, url, f"no data published: {url} (404)")
            expected = parse_checksum(checksum_text, archive.file_name, checksum_url)
            if target.is_file():
                if sha256_file(target) == expected:
                    _atomic_write_text(checksum_path, checksum_text)
                    return FileOutcome(archive, SKIPPED, url, "verified against remote CHECKSUM")
                local_is_bad = True
            n = _stream_to(url, target, expected, policy.timeout_s, policy.max_file_bytes)
            _atomic_write_text(checksum_path, checksum_text)
            return FileOutcome(archive, DOWNLOADED, url, bytes=n)
        except _NotFound:
            return FileOutcome(archive, MISSING, url, f"no data published: {url} (404)")
        except _Permanent as exc:
            return FileOutcome(archive, FAILED, url, str(exc))
        except _Transient as exc:
            last_error = str(exc)
    # A zip proven bad must not stay behind (a good one is only ever renamed in after verification).
    if local_is_bad and target.is_file():
        target.unlink(missing_ok=True)
        checksum_path.unlink(missing_ok=True)
    return FileOutcome(archive, FAILED, url, f"{last_error} (gave up after {policy.attempts} attempts)")


def download_archives(
    archives: Iterable[ArchiveFile],
    dest: Path,
    start: date,
    end: date,
    base_url: str = DEFAULT_BASE_URL,
    policy: RetryPolicy = RetryPolicy(),
    on_outcome: Callable[[FileOutcome], None] | None = None,
    on_added: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadReport:
    """Fetch ``archives`` in order. A 404 monthly archive of a kind with daily files is replaced by its days within
    ``start``..``end`` (recorded with status ``REPLACED`` and ``replaced_by``; ``on_added(n)`` tells how many
    files joined the queue). ``on_outcome`` is called after each file."""
    check_base_url(base_url)
    queue = list(archives)
    report = DownloadReport()
    i = 0
    while i < len(queue):
        outcome = fetch_archive(queue[i], Path(dest), base_url, policy, sleep)
        i += 1
        if outcome.status == MISSING:
            extra = daily_fallback(outcome.archive, start, end)
            if extra:
                outcome = FileOutcome(
                    outcome.archive,
                    REPLACED,
                    outcome.url,
                    f"{outcome.message}; fetching its {len(extra)} daily files instead",
                    replaced_by=tuple(extra),
                )
                queue[i:i] = extra
                if on_added:
                    on_added(len(extra))
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return report


def check_base_url(base_url: str) -> str:
    """Reject a base URL that is not http(s) (urllib would otherwise also open file:// and ftp://)."""
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigError(f"base-url: '{base_url}' must start with http:// or https:// and name a host")
    return base_url


def check_dest(dest: Path) -> Path:
    """The destination folder (created if absent); raises when it exists as a file."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise LiqSignalsError(f"dest: '{dest}' exists and is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    return dest
