"""Bracket tables: validation on load, snapshot choice by date, default table, file layouts."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from liq_signals.engine.brackets import BRACKETS_DIR, DEFAULT_TABLE_FILE, load_bracket_table, to_date
from liq_signals.errors import LiqSignalsError

SHIPPED = sorted(BRACKETS_DIR.glob("binance-usdm-*.json"))


def test_five_snapshots_shipped_with_provenance():
    assert [p.name for p in SHIPPED] == [
        "binance-usdm-2021-03-18.json",
        "binance-usdm-2025-06-23.json",
        "binance-usdm-2025-07-17.json",
        "binance-usdm-2025-08-19.json",
        "binance-usdm-2026-07-23.json",
    ]
    assert (BRACKETS_DIR / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("path", SHIPPED + [DEFAULT_TABLE_FILE], ids=lambda p: p.name)
def test_every_shipped_table_satisfies_the_invariants(path):
    # Independent re-check of the raw JSON (not through the loader).
    data = json.loads(path.read_text())
    for symbol, tiers in data["symbols"].items():
        assert tiers[0]["notionalFloor"] == 0 and tiers[0]["cum"] == 0
        for prev, cur in zip(tiers, tiers[1:]):
            assert cur["notionalFloor"] == prev["notionalCap"], symbol
            assert cur["maintMarginRatio"] >= prev["maintMarginRatio"], symbol
            expected = prev["cum"] + cur["notionalFloor"] * (cur["maintMarginRatio"] - prev["maintMarginRatio"])
            assert cur["cum"] == pytest.approx(expected, rel=1e-9, abs=1e-6), symbol


@pytest.mark.parametrize(
    ("symbol", "at", "effective"),
    [
        ("BTCUSDT", "2024-01-01", "2021-03-18"),
        ("BTCUSDT", "2025-09-01", "2025-08-19"),
        ("BTCUSDT", "2025-08-19", "2025-08-19"),  # effective on its own date
        ("BTCUSDT", "2025-08-18", "2021-03-18"),
        ("ETHUSDT", "2026-01-01", "2025-08-19"),
        ("SOLUSDT", "2025-06-23", "2025-06-23"),
        ("XRPUSDT", "2025-12-01", "2025-07-17"),
    ],
)
def test_snapshot_in_force_is_chosen(symbol, at, effective):
    table = load_bracket_table(symbol, at)
    assert table.effective_from == dt.date.fromisoformat(effective)
    assert table.file.endswith(f"binance-usdm-{effective}.json")
    assert not table.is_default and not table.is_later_than_data
    assert table.symbol == symbol


def test_btc_2021_table_values():
    t = load_bracket_table("BTCUSDT", dt.date(2024, 1, 1))
    assert t.n_brackets == 10
    assert list(t.mmr[:3]) == [0.004, 0.005, 0.01]
    assert list(t.cum[:3]) == [0, 50, 1300]
    assert t.notional_cap[0] == 50_000 and t.max_leverage[0] == 125
    assert "older" in t.note  # 2021 table used in 2024: staleness is printed


def test_accepts_datetime_timestamp_and_epoch_ns():
    expected = load_bracket_table("BTCUSDT", dt.date(2025, 9, 1)).effective_from
    ts = pd.Timestamp("2025-09-01 12:00", tz="UTC")
    for at in (dt.datetime(2025, 9, 1, 12), ts, ts.value, np.datetime64("2025-09-01T12:00"), "2025-09-01"):
        assert load_bracket_table("btcusdt", at).effective_from == expected
    # 2025-08-18 23:30 in New York is 2025-08-19 03:30 UTC: the 2025-08-19 table applies.
    ny = pd.Timestamp("2025-08-18 23:30", tz="America/New_York")
    assert to_date(ny) == dt.date(2025, 8, 19)
    assert load_bracket_table("BTCUSDT", ny).effective_from == dt.date(2025, 8, 19)


def test_epoch_milliseconds_are_refused():
    with pytest.raises(LiqSignalsError, match="nanoseconds"):
        load_bracket_table("BTCUSDT", 1_756_684_800_000)


def test_unknown_symbol_gets_the_marked_default():
    t = load_bracket_table("HYPEUSDT", "2025-10-25")
    assert t.is_default
    assert t.symbol == "HYPEUSDT"
    assert "HYPEUSDT" in t.note and "default" in t.note
    assert "default" in t.describe()
    assert t.file.endswith("default.json")


def test_only_later_snapshot_is_used_but_marked():
    t = load_bracket_table("BNBUSDT", "2025-01-01")
    assert t.effective_from == dt.date(2026, 7, 23)
    assert t.is_later_than_data and "after 2025-01-01" in t.note
    assert not load_bracket_table("BNBUSDT", "2026-08-01").is_later_than_data


def test_default_is_at_least_as_strict_as_every_shipped_table():
    default = load_bracket_table("NOSUCHUSDT", "2025-01-01")
    notionals = np.concatenate([np.linspace(0, 1e8, 20_001), [9_999.0, 10_000.0, 80_000.0, 4e5, 1e6, 1e7]])
    _, dmmr, _ = default.lookup(notionals)
    for path in SHIPPED:
        for symbol in json.loads(path.read_text())["symbols"]:
            t = load_bracket_table(symbol, path.stem.removeprefix("binance-usdm-"))
            _, mmr, _ = t.lookup(notionals)
            assert np.all(dmmr >= mmr), (path.name, symbol)


def test_lookup_by_notional():
    t = load_bracket_table("BTCUSDT", "2025-08-19")
    bracket, mmr, cum = t.lookup([0, 300_000, 300_001, 5e6, 1e12])
    assert list(bracket) == [1, 1, 2, 4, 12]
    assert list(mmr) == [0.004, 0.004, 0.005, 0.01, 0.5]
    assert list(cum) == [0, 0, 300, 12_000, 421_482_000]


def test_arrays_are_read_only():
    t = load_bracket_table("BTCUSDT", "2025-08-19")
    with pytest.raises(ValueError):
        t.mmr[0] = 0.1


def _broken_copy(tmp_path, mutate):
    src = BRACKETS_DIR / "binance-usdm-2021-03-18.json"
    dst = tmp_path / "broken.json"
    shutil.copy(src, dst)
    data = json.loads(dst.read_text())
    mutate(data["symbols"]["BTCUSDT"])
    dst.write_text(json.dumps(data))
    return dst


def test_broken_cum_continuity_is_rejected_naming_file_symbol_bracket_field(tmp_path):
    def mutate(tiers):
        tiers[2]["cum"] = 1200  # should be 1300

    path = _broken_copy(tmp_path, mutate)
    with pytest.raises(LiqSignalsError) as err:
        load_bracket_table("BTCUSDT", "2024-01-01", path=path)
    msg = str(err.value)
    assert "broken.json" in msg and "BTCUSDT" in msg and "bracket 3" in msg and "'cum'" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("mutate", "field", "bracket"),
    [
        (lambda t: t[4].__setitem__("notionalFloor", 9_000_000), "notionalFloor", "bracket 5"),
        (lambda t: t[3].__setitem__("maintMarginRatio", 0.009), "maintMarginRatio", "bracket 4"),
        (lambda t: t[1].pop("cum"), "cum", "bracket 2"),
        (lambda t: t[0].__setitem__("notionalFloor", 10), "notionalFloor", "bracket 1"),
    ],
)
def test_other_breakages_are_rejected(tmp_path, mutate, field, bracket):
    path = _broken_copy(tmp_path, mutate)
    with pytest.raises(LiqSignalsError) as err:
        load_bracket_table("BTCUSDT", "2024-01-01", path=path)
    assert f"'{field}'" in str(err.value) and bracket in str(err.value) and "broken.json" in str(err.value)


def test_user_file_layouts(tmp_path):
    shipped = json.loads((BRACKETS_DIR / "binance-usdm-2025-08-19.json").read_text())
    tiers = shipped["symbols"]["BTCUSDT"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(tiers))
    api = tmp_path / "api.json"
    api.write_text(json.dumps([{"symbol": "ETHUSDT", "brackets": tiers}, {"symbol": "BTCUSDT", "brackets": tiers}]))
    for path in (bare, api, BRACKETS_DIR / "binance-usdm-2025-08-19.json"):
        t = load_bracket_table("BTCUSDT", "2020-01-01", path=path)
        assert list(t.cum) == [x["cum"] for x in tiers]
        assert not t.is_default
    assert load_bracket_table("BTCUSDT", "2020-01-01", path=bare).effective_from is None
    with pytest.raises(LiqSignalsError, match="no table for DOGEUSDT"):
        load_bracket_table("DOGEUSDT", "2025-01-01", path=api)
    with pytest.raises(LiqSignalsError, match="not found"):
        load_bracket_table("BTCUSDT", "2025-01-01", path=tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LiqSignalsError, match="bad.json"):
        load_bracket_table("BTCUSDT", "2025-01-01", path=bad)


def test_edited_user_file_is_reloaded(tmp_path):
    path = tmp_path / "t.json"
    tiers = json.loads((BRACKETS_DIR / "binance-usdm-2025-08-19.json").read_text())["symbols"]["BTCUSDT"]
    path.write_text(json.dumps(tiers))
    assert load_bracket_table("BTCUSDT", "2025-01-01", path=path).mmr[0] == 0.004
    tiers[1]["cum"] = 999  # now broken; a stale cache would hide it
    path.write_text(json.dumps(tiers))
    import os

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(LiqSignalsError, match="bracket 2"):
        load_bracket_table("BTCUSDT", "2025-01-01", path=path)
