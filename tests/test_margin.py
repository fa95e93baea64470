"""Liquidation price: docs/domain.md §1 worked examples (API and CLI), invariants and hypothesis properties."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.margin import liquidation_price, liquidation_price_leverage_form
from liq_signals.errors import LiqSignalsError

EP = 67_000.0
NEW, OLD = "2025-08-19", "2021-03-18"

# docs/domain.md §1 worked examples: (case, table date, side, size, wallet, bracket, mmr, cum, LP)
WORKED = [
    ("A", NEW, 1, 1.0, 6_700.0, 1, 0.004, 0.0, 60_542.17),
    ("A", OLD, 1, 1.0, 6_700.0, 2, 0.005, 50.0, 60_552.76),
    ("B", NEW, -1, 0.5, 1_340.0, 1, 0.004, 0.0, 69_402.39),
    ("B", OLD, -1, 0.5, 1_340.0, 1, 0.004, 0.0, 69_402.39),
    ("C", NEW, 1, 10.0, 33_500.0, 2, 0.005, 300.0, 63_939.70),
    ("C", OLD, 1, 10.0, 33_500.0, 3, 0.01, 1_300.0, 64_161.62),
]
# docs/domain.md §1 leverage form at MMR 0.4%: L -> (long LP, short LP)
LEVERAGE_FORM = {
    5: (53_815.26, 80_079.68),
    10: (60_542.17, 73_406.37),
    25: (64_578.31, 69_402.39),
    50: (65_923.69, 68_067.73),
    100: (66_596.39, 67_400.40),
}


@pytest.mark.parametrize(("case", "date", "side", "size", "wallet", "bracket", "mmr", "cum", "lp"), WORKED)
def test_worked_examples_api(case, date, side, size, wallet, bracket, mmr, cum, lp):
    table = load_bracket_table("BTCUSDT", date)
    assert table.effective_from.isoformat() == date
    r = liquidation_price(side, size, EP, table, wallet=wallet)
    assert round(float(r.price), 2) == lp
    assert int(r.bracket) == bracket and float(r.mmr) == mmr and float(r.cum) == cum
    # Same position given as leverage: WB = size * EP / L.
    r2 = liquidation_price(side, size, EP, table, leverage=size * EP / wallet)
    assert round(float(r2.price), 2) == lp


def test_worked_examples_vectorised_in_one_call():
    table = load_bracket_table("BTCUSDT", OLD)
    cases = [w for w in WORKED if w[1] == OLD]
    r = liquidation_price(
        np.array([c[2] for c in cases]),
        np.array([c[3] for c in cases]),
        EP,
        table,
        wallet=np.array([c[4] for c in cases]),
    )
    assert list(np.round(r.price, 2)) == [c[8] for c in cases]
    assert list(r.bracket) == [c[5] for c in cases]


@pytest.mark.parametrize("lev", sorted(LEVERAGE_FORM))
def test_leverage_form_table(lev):
    long_lp, short_lp = LEVERAGE_FORM[lev]
    assert round(float(liquidation_price_leverage_form(1, EP, lev, 0.004)), 2) == long_lp
    assert round(float(liquidation_price_leverage_form(-1, EP, lev, 0.004)), 2) == short_lp
    # Full formula, 1 BTC (notional stays in bracket 1 of the 2025 table: 0.4%, cum 0).
    table = load_bracket_table("BTCUSDT", NEW)
    r = liquidation_price(np.array([1, -1]), 1.0, EP, table, leverage=lev)
    assert list(np.round(r.price, 2)) == [long_lp, short_lp]
    assert list(r.bracket) == [1, 1]


def test_wrong_variant_is_not_what_we_compute():
    # docs/domain.md: EP(1 - 1/L + MMR/L) is wrong (about 0.4% off at 100x).
    wrong = EP * (1 - 1 / 100 + 0.004 / 100)
    got = float(liquidation_price_leverage_form(1, EP, 100, 0.004))
    assert abs(got - wrong) / EP > 0.003


def test_cannot_be_liquidated_is_nan_bracket_zero():
    table = load_bracket_table("BTCUSDT", NEW)
    r = liquidation_price(np.array([1, 1, -1]), 1.0, EP, table, wallet=np.array([EP, 2 * EP, 1000.0]))
    assert np.isnan(r.price[0]) and np.isnan(r.price[1]) and r.bracket[0] == 0 and r.bracket[1] == 0
    assert np.isnan(r.mmr[0]) and np.isnan(r.cum[1])
    assert list(r.liquidatable) == [False, False, True]
    assert np.isnan(liquidation_price_leverage_form(1, EP, 1, 0.004))


def test_string_sides_and_broadcast_shape():
    table = load_bracket_table("BTCUSDT", NEW)
    r = liquidation_price(np.array(["long", "SHORT"]), 1.0, EP, table, leverage=10)
    assert list(np.round(r.price, 2)) == [60_542.17, 73_406.37]
    r = liquidation_price(1, np.ones((3, 4)), EP, table, leverage=10)
    assert r.price.shape == r.bracket.shape == (3, 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(side=0, size=1, entry=EP, leverage=10),
        dict(side=1, size=0, entry=EP, leverage=10),
        dict(side=1, size=1, entry=-1, leverage=10),
        dict(side=1, size=1, entry=EP, leverage=0),
        dict(side=1, size=1, entry=EP),
        dict(side=1, size=1, entry=EP, leverage=10, wallet=100),
        dict(side=1, size=1, entry=EP, wallet=np.nan),
    ],
)
def test_invalid_inputs_raise_user_error(kwargs):
    table = load_bracket_table("BTCUSDT", NEW)
    with pytest.raises(LiqSignalsError):
        liquidation_price(table=table, **kwargs)


def test_hundred_thousand_positions_one_call():
    table = load_bracket_table("BTCUSDT", NEW)
    rng = np.random.default_rng(7)
    n = 100_000
    side = rng.choice([-1, 1], n)
    size = 10 ** rng.uniform(-3, 3.5, n)
    entry = rng.uniform(20_000, 120_000, n)
    lev = rng.uniform(1.5, 125, n)
    r = liquidation_price(side, size, entry, table, leverage=lev)
    assert r.price.shape == (n,)
    ok = r.bracket > 0
    assert ok.all()  # leverage > 1: every position here can be liquidated
    # Equity at LP equals maintenance margin for every position.
    wb = size * entry / lev
    equity = wb + side * size * (r.price - entry)
    mm = size * r.price * r.mmr - r.cum
    assert np.all(np.abs(equity - mm) <= 1e-9 * size * entry)
    assert len(np.unique(r.bracket)) > 3  # several brackets exercised


# ---------------------------------------------------------------- hypothesis properties

TABLES = [
    load_bracket_table("BTCUSDT", NEW),
    load_bracket_table("BTCUSDT", OLD),
    load_bracket_table("XRPUSDT", NEW),
    load_bracket_table("ZZZUSDT", NEW),
]
sizes = st.floats(1e-3, 5e4)
entries = st.floats(0.01, 2e5)
leverages = st.floats(1.01, 150)
tables = st.sampled_from(TABLES)


def _allowed_leverage(table, size, entry, frac):
    """A leverage Binance would allow at this entry notional: 1.01 .. max_leverage of its bracket."""
    bracket, _, _ = table.lookup(size * entry)
    max_lev = max(float(table.max_leverage[int(bracket) - 1]), 1.01)  # 1x-only tiers: use 1.01x
    return 1.01 + frac * (max_lev - 1.01)


@settings(max_examples=300, deadline=None)
@given(table=tables, size=sizes, entry=entries, frac=st.floats(0, 1))
def test_long_below_entry_below_short(table, size, entry, frac):
    lev = _allowed_leverage(table, size, entry, frac)
    r = liquidation_price(np.array([1, -1]), size, entry, table, leverage=lev)
    assert r.price[0] < entry < r.price[1]


@settings(max_examples=300, deadline=None)
@given(table=tables, size=sizes, entry=entries, f1=st.floats(0, 1), f2=st.floats(0, 1))
def test_higher_leverage_is_closer_to_entry(table, size, entry, f1, f2):
    lo_lev, hi_lev = sorted((_allowed_leverage(table, size, entry, f1), _allowed_leverage(table, size, entry, f2)))
    for side in (1, -1):
        low = float(liquidation_price(side, size, entry, table, leverage=lo_lev).price)
        high = float(liquidation_price(side, size, entry, table, leverage=hi_lev).price)
        assert abs(high - entry) <= abs(low - entry) * (1 + 1e-12)
        if hi_lev > lo_lev * 1.001:
            assert abs(high - entry) < abs(low - entry)


@settings(max_examples=300, deadline=None)
@given(table=tables, side=st.sampled_from([1, -1]), size=sizes, entry=entries, wallet_frac=st.floats(-0.5, 3.0))
def test_bracket_contains_notional_and_equity_equals_maintenance(table, side, size, entry, wallet_frac):
    wallet = wallet_frac * size * entry
    r = liquidation_price(side, size, entry, table, wallet=wallet)
    if r.bracket == 0:
        # Not liquidatable: only a long whose wallet covers the whole notional (no positive root).
        assert side == 1 and wallet >= size * entry * (1 - 1e-12)
        return
    lp, k = float(r.price), int(r.bracket) - 1
    notional = size * lp
    assert table.notional_floor[k] * (1 - 1e-9) <= notional
    if k < table.n_brackets - 1:
        assert notional <= table.notional_cap[k] * (1 + 1e-9)
    # Independent check: maintenance margin from a lookup by notional, not from the result.
    _, mmr, cum = table.lookup(notional)
    equity = wallet + side * size * (lp - entry)
    assert equity == pytest.approx(notional * float(mmr) - float(cum), rel=1e-8, abs=1e-6 * size * entry)


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from([1, -1]), entry=entries, lev=leverages)
def test_leverage_form_equals_full_formula_in_bracket_one(side, entry, lev):
    table = TABLES[0]
    size = 1_000.0 / entry  # notional 1,000 USDT: far inside bracket 1 at any LP reached with lev > 1.01
    full = liquidation_price(side, size, entry, table, leverage=lev)
    if full.bracket != 1:
        return
    assert float(full.cum) == 0.0
    form = liquidation_price_leverage_form(side, entry, lev, float(full.mmr))
    assert float(form) == pytest.approx(float(full.price), rel=1e-12)


# ---------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    from liq_signals.commands import liq_price

    app = typer.Typer()
    liq_price.register(app)

    @app.callback()
    def _root() -> None:  # keep "liq-price" as a sub-command name
        pass

    return app


def _cli_json(*args: str) -> dict:
    result = CliRunner().invoke(_app(), ["liq-price", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("case", "date", "side", "size", "wallet", "bracket", "mmr", "cum", "lp"), WORKED)
def test_worked_examples_cli(case, date, side, size, wallet, bracket, mmr, cum, lp):
    out = _cli_json(
        "--symbol",
        "BTCUSDT",
        "--side",
        "long" if side == 1 else "short",
        "--size",
        str(size),
        "--entry",
        "67000",
        "--wallet",
        str(wallet),
        "--brackets-date",
        date,
    )
    assert round(out["liquidation_price"], 2) == lp
    assert out["bracket"] == bracket and out["mmr"] == mmr and out["cum"] == cum
    assert out["brackets_date"] == date and out["brackets_file"] == f"binance-usdm-{date}.json"
    assert out["default_used"] is False


@pytest.mark.parametrize("lev", sorted(LEVERAGE_FORM))
def test_leverage_form_cli(lev):
    for side, expected in zip(("long", "short"), LEVERAGE_FORM[lev]):
        out = _cli_json(
            "--side", side, "--size", "1", "--entry", "67000", "--leverage", str(lev), "--brackets-date", NEW
        )
        assert round(out["liquidation_price"], 2) == expected


def test_cli_text_output_names_snapshot():
    result = CliRunner().invoke(
        _app(),
        ["liq-price", "--side", "long", "--size", "1", "--entry", "67000", "--wallet", "6700", "--brackets-date", OLD],
    )
    assert result.exit_code == 0
    assert "60,552.76" in result.stdout and "bracket: 2" in result.stdout and "2021-03-18" in result.stdout


def test_cli_default_table_is_reported():
    out = _cli_json("--symbol", "HYPEUSDT", "--side", "short", "--size", "100", "--entry", "40", "--leverage", "10")
    assert out["default_used"] is True and "HYPEUSDT" in out["note"]
    # default bracket 1: 0.5%, cum 0 -> short LP = 40 * 1.1 / 1.005
    assert round(out["liquidation_price"], 6) == round(40 * 1.1 / 1.005, 6)


def test_cli_not_liquidatable():
    out = _cli_json("--side", "long", "--size", "1", "--entry", "67000", "--leverage", "1", "--brackets-date", NEW)
    assert out["liquidation_price"] is None and out["liquidatable"] is False and out["bracket"] == 0


def test_cli_brackets_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            [
                {
                    "bracket": 1,
                    "notionalFloor": 0,
                    "notionalCap": 1e9,
                    "initialLeverage": 20,
                    "maintMarginRatio": 0.01,
                    "cum": 0,
                }
            ]
        )
    )
    out = _cli_json("--side", "long", "--size", "1", "--entry", "100", "--leverage", "10", "--brackets", str(path))
    assert out["liquidation_price"] == pytest.approx(100 * 0.9 / 0.99, rel=1e-12)
    assert out["brackets_file"].endswith("mine.json")


@pytest.mark.parametrize(
    "args",
    [
        ["--side", "long", "--size", "0", "--entry", "67000", "--leverage", "10"],
        ["--side", "long", "--size", "1", "--entry", "-5", "--leverage", "10"],
        ["--side", "long", "--size", "1", "--entry", "67000", "--leverage", "0"],
        ["--side", "up", "--size", "1", "--entry", "67000", "--leverage", "10"],
        ["--side", "long", "--size", "1", "--entry", "67000"],
        ["--side", "long", "--size", "1", "--entry", "67000", "--leverage", "10", "--wallet", "5"],
    ],
)
def test_cli_bad_values_are_user_errors(args):
    result = CliRunner().invoke(_app(), ["liq-price", *args])
    assert isinstance(result.exception, LiqSignalsError)


def test_real_cli_exit_code_and_one_line_error():
    """Through the real console entry point (all registered commands), in a subprocess."""
    try:
        import liq_signals.cli  # noqa: F401
    except ImportError as exc:  # another command module not written yet
        pytest.skip(f"liq_signals.cli not importable yet: {exc}")
    run = [sys.executable, "-c", "from liq_signals.cli import main; main()", "liq-price"]
    ok = subprocess.run(
        run
        + [
            "--side",
            "short",
            "--size",
            "0.5",
            "--entry",
            "67000",
            "--wallet",
            "1340",
            "--brackets-date",
            NEW,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert round(json.loads(ok.stdout)["liquidation_price"], 2) == 69_402.39
    bad = subprocess.run(
        run + ["--side", "long", "--size", "-1", "--entry", "67000", "--leverage", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--size" in bad.stderr


# ------------------------------------------------------------------------------- leverage Binance allows
# Hand-read from brackets_data/binance-usdm-2025-08-19.json, BTCUSDT: bracket 1 0-300,000 USDT at most
# 150x, bracket 2 300,000-800,000 at most 100x, bracket 5 12,000,000-70,000,000 at most 25x.
@pytest.mark.parametrize(
    ("size", "entry", "bracket", "max_lev"),
    [(1, 67_000, 1, 150), (3, 100_000, 1, 150), (3.0000001, 100_000, 2, 100), (1000, 67_000, 5, 25)],
)
def test_max_leverage_at_reads_the_bracket_of_the_notional(size, entry, bracket, max_lev):
    from liq_signals.engine.brackets import load_bracket_table

    table = load_bracket_table("BTCUSDT", "2025-08-19")
    assert table.max_leverage_at(size * entry) == (bracket, max_lev)


def test_check_leverage_refuses_what_binance_would_not_open():
    from liq_signals.engine.brackets import load_bracket_table
    from liq_signals.engine.margin import check_leverage

    table = load_bracket_table("BTCUSDT", "2025-08-19")
    check_leverage(table, 67_000_000, leverage=25)  # bracket 5 maximum: allowed
    check_leverage(table, 67_000, leverage=1)
    with pytest.raises(LiqSignalsError, match=r"125x is above the 25x .*bracket 5"):
        check_leverage(table, 67_000_000, leverage=125)
    with pytest.raises(LiqSignalsError, match="below 1x"):
        check_leverage(table, 67_000, leverage=0.5)
    # a wallet implies leverage = notional / wallet: 67,000 / 446 = 150.2x > 150x; / 447 = 149.9x
    check_leverage(table, 67_000, wallet=447)
    with pytest.raises(LiqSignalsError, match=r"--wallet 446.00 USDT .* 150x"):
        check_leverage(table, 67_000, wallet=446)


def test_liq_price_cli_refuses_125x_on_67m_notional(capsys):
    from liq_signals.cli import run

    code = run(
        [
            "liq-price",
            "--symbol",
            "BTCUSDT",
            "--side",
            "long",
            "--size",
            "1000",
            "--entry",
            "67000",
            "--leverage",
            "125",
            "--brackets-date",
            "2025-08-19",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "25x" in err and "--leverage 125x" in err
    # at the bracket's maximum it answers: LP = (WB - size*EP + cum) / (size*MMR - size), WB = 67e6/25,
    # bracket 5 (MMR 2%, cum 132,000) holds the notional at that price
    code = run(
        [
            "liq-price",
            "--symbol",
            "BTCUSDT",
            "--side",
            "long",
            "--size",
            "1000",
            "--entry",
            "67000",
            "--leverage",
            "25",
            "--brackets-date",
            "2025-08-19",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    lp = (67e6 / 25 - 67e6 + 132_000) / (1000 * 0.02 - 1000)
    assert code == 0 and json.loads(out)["liquidation_price"] == pytest.approx(lp)
