"""Binance Vision downloader against a local HTTP server (127.0.0.1, never the internet).

The server mirrors the data.binance.vision layout, built from slices of the shipped BTCUSDT 2023-11 sample
files zipped as daily metrics / daily 15m klines / a monthly fundingRate archive, each with a correct
``.CHECKSUM`` computed here with hashlib (independently of the code under test).
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import liq_signals
from liq_signals.commands import download as download_command
from liq_signals.data import download as dl
from liq_signals.errors import LiqSignalsError

SAMPLE = Path(liq_signals.__file__).parent / "sample_data" / "btcusdt-2023-11"
DAYS = [date(2023, 11, 14), date(2023, 11, 15), date(2023, 11, 16)]
FAST = dl.RetryPolicy(attempts=3, base_delay_s=0.001, max_delay_s=0.01, timeout_s=10)


# ------------------------------------------------------------------------------------------ test server


@dataclass
class ServerState:
    """What the test server saw and how it should misbehave (paths are URL paths without the query)."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_500: dict[str, int] = field(default_factory=dict)
    truncate: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str, method: str = "GET") -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if p == path and m == method)

    def body_requests(self) -> list[str]:
        with self.lock:
            return [p for m, p in self.requests if m == "GET" and p.endswith(".zip")]


class VisionHandler(SimpleHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _record_and_misbehave(self) -> bool:
        path = self.path.split("?", 1)[0]
        with self.state.lock:
            self.state.requests.append((self.command, path))
            if self.state.fail_500.get(path, 0) > 0:
                self.state.fail_500[path] -= 1
                self.send_error(500, "synthetic failure")
                return True
            if self.command == "GET" and self.state.truncate.get(path, 0) > 0:
                self.state.truncate[path] -= 1
                body = Path(self.directory, path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return True
        return False

    def do_GET(self) -> None:
        if not self._record_and_misbehave():
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._record_and_misbehave():
            super().do_HEAD()


@dataclass
class Mirror:
    root: Path
    base_url: str
    state: ServerState

    def path_of(self, archive: dl.ArchiveFile) -> Path:
        return self.root / archive.rel_path

    def url_path(self, archive: dl.ArchiveFile) -> str:
        return "/" + archive.rel_path


def _zip_bytes(member: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo(member, date_time=(2023, 12, 1, 0, 0, 0)), text)
    return buf.getvalue()


def publish(root: Path, rel_path: str, csv_text: str) -> bytes:
    """Write ``rel_path`` (a .zip holding one CSV) and its ``.CHECKSUM`` under ``root``; return the zip bytes."""
    target = root / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    data = _zip_bytes(target.name.removesuffix(".zip") + ".csv", csv_text)
    target.write_bytes(data)
    (target.parent / (target.name + ".CHECKSUM")).write_text(
        f"{hashlib.sha256(data).hexdigest()}  {target.name}\n", encoding="utf-8"
    )
    return data


def _csv_slice(path: Path, keep) -> str:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(rows[0])
    w.writerows(r for r in rows[1:] if keep(r))
    return out.getvalue()


def _ms_day(ms: str) -> date:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).date()


def build_mirror_tree(root: Path) -> None:
    """Daily metrics + daily 15m klines for DAYS, monthly fundingRate for 2023-11, from the shipped samples."""
    metrics = SAMPLE / "BTCUSDT-metrics-2023-11-14_2023-12-12.csv"
    klines = SAMPLE / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
    funding = SAMPLE / "BTCUSDT-fundingRate-2023-11-12_2023-12-13.csv"
    for d in DAYS:
        day = d.isoformat()
        text = _csv_slice(metrics, lambda r, day=day: r[0].startswith(day))
        assert text.count("\n") == 1 + 288  # a whole day of 5-minute rows
        publish(root, f"data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-{day}.zip", text)
        text = _csv_slice(klines, lambda r, d=d: _ms_day(r[0]) == d)
        assert text.count("\n") == 1 + 96
        publish(root, f"data/futures/um/daily/klines/BTCUSDT/15m/BTCUSDT-15m-{day}.zip", text)
    text = _csv_slice(funding, lambda r: _ms_day(r[0]).month == 11)
    publish(root, "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2023-11.zip", text)


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "server"
    build_mirror_tree(root)
    state = ServerState()
    handler = type("Handler", (VisionHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Mirror(root, f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


KINDS = dl.parse_kinds("klines:15m,metrics,fundingRate")


def plan() -> list[dl.ArchiveFile]:
    return dl.plan_archives("BTCUSDT", KINDS, DAYS[0], DAYS[-1], today=date(2024, 1, 1))


def run(mirror: Mirror, dest: Path, archives=None, policy=FAST) -> dl.DownloadReport:
    return dl.download_archives(archives or plan(), dest, DAYS[0], DAYS[-1], mirror.base_url, policy)


def leftovers(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if p.is_file() and ".part" in p.name]


# ------------------------------------------------------------------------------------------ planning


def test_urls_follow_the_vision_layout():
    archives = plan()
    urls = {a.url("https://data.binance.vision/") for a in archives}
    assert "https://data.binance.vision/data/futures/um/daily/klines/BTCUSDT/15m/BTCUSDT-15m-2023-11-14.zip" in urls
    assert "https://data.binance.vision/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-2023-11-16.zip" in urls
    assert (
        "https://data.binance.vision/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2023-11.zip"
        in urls
    )
    assert len(archives) == 3 + 3 + 1


def test_monthly_for_whole_past_months_daily_for_the_rest():
    kinds = dl.parse_kinds("klines:1m,metrics,fundingRate,aggTrades")
    archives = dl.plan_archives("btcusdt", kinds, date(2023, 10, 15), date(2023, 12, 5), today=date(2024, 1, 10))
    by_kind: dict[str, list[str]] = {}
    for a in archives:
        assert a.symbol == "BTCUSDT"
        by_kind.setdefault(a.kind, []).append(f"{a.period}:{a.stamp}")
    expected_mixed = (
        [f"daily:2023-10-{d:02d}" for d in range(15, 32)]
        + ["monthly:2023-11"]
        + [f"daily:2023-12-{d:02d}" for d in range(1, 6)]
    )
    assert by_kind["klines"] == expected_mixed
    assert by_kind["aggTrades"] == expected_mixed
    assert by_kind["metrics"] == [f"daily:{date(2023, 10, 15) + timedelta(days=i)}" for i in range(52)]
    assert by_kind["fundingRate"] == ["monthly:2023-10", "monthly:2023-11", "monthly:2023-12"]


def test_a_month_not_yet_over_uses_daily_files():
    kinds = dl.parse_kinds("klines:1h")
    archives = dl.plan_archives("BTCUSDT", kinds, date(2023, 10, 1), date(2023, 11, 30), today=date(2023, 11, 20))
    assert [a.stamp for a in archives if a.period == "monthly"] == ["2023-10"]
    assert [a.stamp for a in archives if a.period == "daily"] == [f"2023-11-{d:02d}" for d in range(1, 31)]


@settings(max_examples=150, deadline=None)
@given(
    start=st.dates(date(2021, 1, 1), date(2024, 12, 31)),
    span=st.integers(0, 120),
    today=st.dates(date(2021, 1, 1), date(2025, 6, 30)),
    kind=st.sampled_from(["klines:5m", "metrics", "fundingRate", "aggTrades"]),
)
def test_plan_covers_every_day_once(start, span, today, kind):
    end = start + timedelta(days=span)
    req = dl.parse_kinds(kind)
    archives = dl.plan_archives("ETHUSDT", req, start, end, today=today)
    covered = [d for a in archives for d in a.days()]
    wanted = {start + timedelta(days=i) for i in range(span + 1)}
    assert len(covered) == len(set(covered))  # no day fetched twice
    assert wanted <= set(covered)
    spec = req[0].spec
    if spec.daily:  # with daily archives available, nothing outside the range is fetched
        assert set(covered) == wanted
    for a in archives:
        if a.period == "monthly" and spec.daily:
            last = a.day.replace(day=calendar.monthrange(a.day.year, a.day.month)[1])
            assert last < today and start <= a.day and last <= end
        assert (a.period == "monthly") <= spec.monthly and (a.period == "daily") <= spec.daily


@pytest.mark.parametrize(
    "kinds, message",
    [
        ("klines", "needs an interval"),
        ("klines:7m", "unknown interval"),
        ("metrics:1m", "takes no interval"),
        ("openInterest", "unknown kind"),
        (",", "no kind"),
    ],
)
def test_bad_kinds_are_one_line_errors(kinds, message):
    with pytest.raises(LiqSignalsError, match=message) as info:
        dl.parse_kinds(kinds)
    assert "\n" not in str(info.value)


def test_bad_dates_and_symbols():
    with pytest.raises(LiqSignalsError, match="start: '2023-13-01'"):
        dl.parse_date("2023-13-01", "start")
    with pytest.raises(LiqSignalsError, match="before start"):
        dl.plan_archives("BTCUSDT", KINDS, date(2023, 11, 2), date(2023, 11, 1))
    with pytest.raises(LiqSignalsError, match="symbol"):
        dl.normalize_symbol("BTC/USDT")
    with pytest.raises(LiqSignalsError, match="attempts"):
        dl.RetryPolicy(attempts=0)


def test_backoff_doubles_and_is_capped():
    policy = dl.RetryPolicy(attempts=6, base_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay(k) for k in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


# ------------------------------------------------------------------------------------------ transfer


def test_full_download_matches_the_source_bytes(mirror, tmp_path):
    dest = tmp_path / "dest"
    report = run(mirror, dest)
    assert report.counts()[dl.DOWNLOADED] == 7 and report.ok
    for a in plan():
        got = dest / a.rel_path
        assert got.read_bytes() == mirror.path_of(a).read_bytes()
        checksum = got.with_name(got.name + ".CHECKSUM")
        assert checksum.read_text() == mirror.path_of(a).with_name(got.name + ".CHECKSUM").read_text()
        assert zipfile.ZipFile(got).namelist() == [got.name.removesuffix(".zip") + ".csv"]
    assert sum(o.bytes for o in report.outcomes) == sum(mirror.path_of(a).stat().st_size for a in plan())
    assert leftovers(dest) == []


def test_rerun_skips_everything_without_downloading_bodies(mirror, tmp_path):
    dest = tmp_path / "dest"
    run(mirror, dest)
    assert len(mirror.state.body_requests()) == 7
    mirror.state.requests.clear()

    report = run(mirror, dest)
    assert report.counts()[dl.SKIPPED] == 7
    assert mirror.state.requests == []  # local zip + local CHECKSUM verify: no request at all

    # A zip without its local CHECKSUM is checked against the remote one: one small request, no body.
    a = plan()[0]
    (dest / (a.rel_path + ".CHECKSUM")).unlink()
    report = run(mirror, dest)
    assert report.counts()[dl.SKIPPED] == 7
    assert mirror.state.requests == [("GET", mirror.url_path(a) + ".CHECKSUM")]
    assert (dest / (a.rel_path + ".CHECKSUM")).is_file()


def test_a_damaged_local_zip_is_replaced(mirror, tmp_path):
    dest = tmp_path / "dest"
    run(mirror, dest)
    a = plan()[3]
    (dest / a.rel_path).write_bytes(b"half a file")
    mirror.state.requests.clear()
    report = run(mirror, dest)
    assert report.counts() == {dl.DOWNLOADED: 1, dl.SKIPPED: 6, dl.MISSING: 0, dl.REPLACED: 0, dl.FAILED: 0}
    assert mirror.state.body_requests() == [mirror.url_path(a)]
    assert (dest / a.rel_path).read_bytes() == mirror.path_of(a).read_bytes()


def test_checksum_mismatch_on_server_fails_and_leaves_no_bad_zip(mirror, tmp_path):
    dest = tmp_path / "dest"
    bad = plan()[1]
    data = bytearray(mirror.path_of(bad).read_bytes())
    data[len(data) // 2] ^= 0xFF
    mirror.path_of(bad).write_bytes(bytes(data))

    report = run(mirror, dest)
    failed = report.with_status(dl.FAILED)
    assert [o.archive for o in failed] == [bad]
    assert bad.url(mirror.base_url) in failed[0].message and "checksum mismatch" in failed[0].message
    assert mirror.state.count(mirror.url_path(bad)) == FAST.attempts  # retried, then gave up
    assert not (dest / bad.rel_path).exists()
    assert not (dest / (bad.rel_path + ".CHECKSUM")).exists()
    assert leftovers(dest) == []
    assert report.counts()[dl.DOWNLOADED] == 6 and not report.ok


def test_missing_day_is_reported_and_the_rest_downloaded(mirror, tmp_path):
    dest = tmp_path / "dest"
    gone = plan()[2]
    mirror.path_of(gone).unlink()
    mirror.path_of(gone).with_name(gone.file_name + ".CHECKSUM").unlink()

    report = run(mirror, dest)
    missing = report.with_status(dl.MISSING)
    assert [o.archive for o in missing] == [gone]
    assert gone.url(mirror.base_url) in missing[0].message and "404" in missing[0].message
    assert report.counts()[dl.DOWNLOADED] == 6
    assert report.ok  # a 404 is not a failure
    assert mirror.state.count(mirror.url_path(gone) + ".CHECKSUM") == 1  # 404 is not retried


def test_checksum_without_archive_is_not_missing_but_failed(mirror, tmp_path):
    odd = plan()[0]
    mirror.path_of(odd).with_name(odd.file_name + ".CHECKSUM").unlink()
    report = run(mirror, tmp_path / "dest")
    assert [o.archive for o in report.with_status(dl.FAILED)] == [odd]
    assert "cannot verify" in report.with_status(dl.FAILED)[0].message


def test_server_errors_are_retried(mirror, tmp_path):
    dest = tmp_path / "dest"
    flaky = plan()[4]
    mirror.state.fail_500[mirror.url_path(flaky)] = 2
    report = run(mirror, dest)
    assert report.ok and report.counts()[dl.DOWNLOADED] == 7
    assert mirror.state.count(mirror.url_path(flaky)) == 3
    assert (dest / flaky.rel_path).read_bytes() == mirror.path_of(flaky).read_bytes()


def test_persistent_server_errors_fail_after_all_attempts(mirror, tmp_path):
    dest = tmp_path / "dest"
    broken = plan()[5]
    mirror.state.fail_500[mirror.url_path(broken) + ".CHECKSUM"] = 99
    report = run(mirror, dest)
    failed = report.with_status(dl.FAILED)
    assert [o.archive for o in failed] == [broken]
    assert "HTTP 500" in failed[0].message and str(FAST.attempts) in failed[0].message
    assert mirror.state.count(mirror.url_path(broken) + ".CHECKSUM") == FAST.attempts


def test_a_cut_connection_leaves_no_half_file_and_is_retried(mirror, tmp_path):
    dest = tmp_path / "dest"
    cut = plan()[6]
    mirror.state.truncate[mirror.url_path(cut)] = 1
    report = run(mirror, dest)
    assert report.ok
    assert mirror.state.count(mirror.url_path(cut)) == 2
    assert (dest / cut.rel_path).read_bytes() == mirror.path_of(cut).read_bytes()

    # With a single attempt the cut is final: nothing is left behind under any name.
    dest2 = tmp_path / "dest2"
    mirror.state.truncate[mirror.url_path(cut)] = 1
    report = run(mirror, dest2, archives=[cut], policy=dl.RetryPolicy(attempts=1, base_delay_s=0, timeout_s=10))
    assert not report.ok
    assert [p for p in dest2.rglob("*") if p.is_file()] == []


def test_unpublished_monthly_falls_back_to_daily(mirror, tmp_path):
    start, end = date(2023, 2, 1), date(2023, 2, 28)
    for d in range(1, 29):
        publish(mirror.root, f"data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2023-02-{d:02d}.zip", "x\n")
    archives = dl.plan_archives("BTCUSDT", dl.parse_kinds("aggTrades"), start, end, today=date(2023, 3, 2))
    assert [a.period for a in archives] == ["monthly"]
    added: list[int] = []
    report = dl.download_archives(archives, tmp_path / "dest", start, end, mirror.base_url, FAST, on_added=added.append)
    assert added == [28]
    assert report.counts() == {dl.DOWNLOADED: 28, dl.SKIPPED: 0, dl.MISSING: 0, dl.REPLACED: 1, dl.FAILED: 0}
    assert report.ok
    assert len(list((tmp_path / "dest").rglob("*.zip"))) == 28


# ------------------------------------------------------------------------------------------ CLI


def cli_app() -> typer.Typer:
    app = typer.Typer()
    download_command.register(app)

    @app.callback()
    def _root() -> None:  # keep "download" as a named sub-command
        pass

    return app


def invoke(*args: str):
    return CliRunner().invoke(cli_app(), ["download", *args])


def test_cli_downloads_and_reports_a_missing_day(mirror, tmp_path):
    dest = tmp_path / "dest"
    gone = plan()[0]
    mirror.path_of(gone).unlink()
    mirror.path_of(gone).with_name(gone.file_name + ".CHECKSUM").unlink()
    args = [
        "BTCUSDT",
        "--kinds",
        "klines:15m,metrics,fundingRate",
        "--start",
        "2023-11-14",
        "--end",
        "2023-11-16",
        "--dest",
        str(dest),
        "--base-url",
        mirror.base_url,
        "--retry-delay",
        "0.001",
        "--quiet",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert f"missing: no data published: {gone.url(mirror.base_url)} (404)" in result.output
    assert len(list(dest.rglob("*.zip"))) == 6
    lines = {line.strip("│ ").split()[0]: line for line in result.output.splitlines() if "│" in line}
    assert lines["downloaded"].split("│")[2].strip() == "6"
    assert lines["missing-404"].split("│")[2].strip() == "1"

    again = invoke(*args)
    assert again.exit_code == 0
    assert [line.split("│")[2].strip() for line in again.output.splitlines() if "skipped-verified" in line] == ["6"]


def test_cli_exits_2_when_a_checksum_stays_bad(mirror, tmp_path):
    bad = plan()[0]
    mirror.path_of(bad).write_bytes(b"not the archive")
    result = invoke(
        "BTCUSDT",
        "--kinds",
        "klines:15m",
        "--start",
        "2023-11-14",
        "--end",
        "2023-11-14",
        "--dest",
        str(tmp_path / "d"),
        "--base-url",
        mirror.base_url,
        "--retry-delay",
        "0",
        "--quiet",
    )
    # a user error: cli.main prints it as one line, exit 2 (the installed command: tests/test_data_download_limits.py)
    assert isinstance(result.exception, LiqSignalsError)
    assert "1 file(s) failed" in str(result.exception)
    assert f"FAILED: {bad.url(mirror.base_url)}" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kinds", "klines", "--start", "2023-11-14", "--end", "2023-11-15"], "needs an interval"),
        (["--kinds", "metrics", "--start", "2023-11-31", "--end", "2023-12-01"], "start: '2023-11-31'"),
        (["--kinds", "metrics", "--start", "2023-11-15", "--end", "2023-11-14"], "before start"),
        (["--kinds", "trades2", "--start", "2023-11-15", "--end", "2023-11-16"], "unknown kind"),
        (["--start", "2023-11-15", "--end", "2023-11-16", "--base-url", "file:///etc"], "base-url"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, args, message):
    result = invoke("BTCUSDT", *args, "--dest", str(tmp_path / "d"))
    assert isinstance(result.exception, LiqSignalsError)
    assert message in str(result.exception)
    assert not (tmp_path / "d").exists()  # rejected before touching the disk
