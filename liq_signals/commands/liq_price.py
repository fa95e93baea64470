"""``liq-signals liq-price``: Binance USD-M liquidation price of one isolated position."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from liq_signals.errors import LiqSignalsError

HELP = """Liquidation price of one isolated Binance USD-M position (one-way mode, fees ignored).

Uses the bracket table in force at --brackets-date (default: today, UTC), or --brackets FILE.
Give exactly one of --wallet (USDT allocated to the position) or --leverage.

Example: liq-signals liq-price --symbol BTCUSDT --side long --size 1 --entry 67000 --wallet 6700 --brackets-date 2025-08-19
"""


def liq_price(
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="Binance USD-M symbol, e.g. BTCUSDT."),
    side: str = typer.Option(..., "--side", help="long or short."),
    size: float = typer.Option(..., "--size", help="Position size in base asset (> 0), e.g. 1 for 1 BTC."),
    entry: float = typer.Option(..., "--entry", help="Entry price in USDT (> 0)."),
    wallet: float | None = typer.Option(None, "--wallet", help="Wallet balance allocated to the position, USDT."),
    leverage: float | None = typer.Option(
        None,
        "--leverage",
        help="Leverage (1x up to the bracket's maximum for the notional); wallet = size*entry/leverage.",
    ),
    brackets_date: str | None = typer.Option(
        None, "--brackets-date", help="Date (YYYY-MM-DD) choosing the bracket snapshot; default today (UTC)."
    ),
    brackets: Path | None = typer.Option(None, "--brackets", help="Bracket table JSON file to use instead."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    from liq_signals.engine.brackets import load_bracket_table, to_date
    from liq_signals.engine.margin import check_leverage, liquidation_price

    side_name = side.strip().lower()
    if side_name not in ("long", "short"):
        raise LiqSignalsError(f"--side must be long or short, got {side!r}")
    if (wallet is None) == (leverage is None):
        raise LiqSignalsError("give exactly one of --wallet or --leverage")
    for name, value in (("--size", size), ("--entry", entry), ("--leverage", leverage)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise LiqSignalsError(f"{name} must be a finite number > 0, got {value}")
    if wallet is not None and not math.isfinite(wallet):
        raise LiqSignalsError(f"--wallet must be finite, got {wallet}")

    try:
        day = to_date(brackets_date)
    except LiqSignalsError as exc:
        raise LiqSignalsError(f"--brackets-date: {exc}") from None
    table = load_bracket_table(symbol, day, path=brackets)
    check_leverage(table, size * entry, leverage=leverage, wallet=wallet)
    sign = 1 if side_name == "long" else -1
    res = liquidation_price(sign, size, entry, table, wallet=wallet, leverage=leverage)
    price = float(res.price)
    liquidatable = bool(res.bracket > 0)
    wb = wallet if wallet is not None else size * entry / leverage
    out = {
        "symbol": table.symbol,
        "side": side_name,
        "size": size,
        "entry": entry,
        "wallet": wb,
        "liquidatable": liquidatable,
        "liquidation_price": price if liquidatable else None,
        "bracket": int(res.bracket),
        "mmr": float(res.mmr) if liquidatable else None,
        "cum": float(res.cum) if liquidatable else None,
        "brackets_date": table.effective_from.isoformat() if table.effective_from else None,
        "brackets_file": Path(table.file).name if not brackets else table.file,
        "default_used": table.is_default,
        "later_than_requested": table.is_later_than_data,
        "requested_date": day.isoformat(),
        "note": table.note,
    }
    if as_json:
        typer.echo(json.dumps(out))
        return
    if liquidatable:
        typer.echo(f"liquidation price: {price:,.2f} USDT")
        typer.echo(f"bracket: {out['bracket']} (MMR {out['mmr'] * 100:g}%, cum {out['cum']:,.2f} USDT)")
    else:
        typer.echo("liquidation price: none (cannot be liquidated)")
    typer.echo(f"wallet: {wb:,.2f} USDT; notional at entry: {size * entry:,.2f} USDT")
    typer.echo(f"brackets: {table.describe()}")


def register(app: typer.Typer) -> None:
    app.command("liq-price", help=HELP)(liq_price)
