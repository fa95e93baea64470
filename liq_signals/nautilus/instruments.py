"""Nautilus instruments for Binance USD-M perpetuals, built from Binance's contract specifications.

Sources (USD-M ``/fapi/v1/exchangeInfo`` filters and the fee schedule, as of the sample data):

- BTCUSDT: PRICE_FILTER tickSize 0.10 (price precision 1); LOT_SIZE stepSize 0.001, minQty 0.001,
  maxQty 1000 (size precision 3); MIN_NOTIONAL 100 USDT; regular-tier fees maker 0.02 %, taker 0.05 %.
  Margins come from tier 1 of the shipped bracket table ``engine/brackets_data/binance-usdm-2025-08-19.json``
  (initialLeverage 150 → margin_init = 1/150, maintMarginRatio 0.004 → margin_maint = 0.004); larger
  positions use higher tiers, which the liquidation engine handles — Nautilus only takes one number.
- HYPEUSDT: PRICE_FILTER tickSize 0.001 (precision 3); LOT_SIZE stepSize 0.01 (precision 2), minQty 0.01;
  MIN_NOTIONAL 5 USDT; same fee tier. **Assumption:** no bracket table for HYPEUSDT is shipped, so
  margins are conservative placeholders (margin_init 0.02 = 50x, margin_maint 0.01), not Binance's values.

Instrument ids follow Nautilus's Binance adapter: ``<SYMBOL>-PERP.BINANCE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from liq_signals.errors import LiqSignalsError


class UnknownInstrumentError(LiqSignalsError):
    """A symbol without a known contract specification."""


@dataclass(frozen=True)
class ContractSpec:
    """Binance USD-M contract specification. Prices in USDT, sizes in base asset, fees as fractions."""

    symbol: str
    base: str
    price_tick: str
    size_step: str
    min_qty: str
    max_qty: str | None
    min_notional_usdt: float
    maker_fee: str
    taker_fee: str
    margin_init: str
    margin_maint: str

    @property
    def price_precision(self) -> int:
        return _decimals(self.price_tick)

    @property
    def size_precision(self) -> int:
        return _decimals(self.size_step)


def _decimals(step: str) -> int:
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


CONTRACT_SPECS: dict[str, ContractSpec] = {
    "BTCUSDT": ContractSpec(
        symbol="BTCUSDT",
        base="BTC",
        price_tick="0.1",
        size_step="0.001",
        min_qty="0.001",
        max_qty="1000.000",
        min_notional_usdt=100.0,
        maker_fee="0.0002",
        taker_fee="0.0005",
        margin_init=str(Decimal(1) / Decimal(150)),
        margin_maint="0.004",
    ),
    "HYPEUSDT": ContractSpec(
        symbol="HYPEUSDT",
        base="HYPE",
        price_tick="0.001",
        size_step="0.01",
        min_qty="0.01",
        max_qty=None,
        min_notional_usdt=5.0,
        maker_fee="0.0002",
        taker_fee="0.0005",
        margin_init="0.02",
        margin_maint="0.01",
    ),
}

VENUE = "BINANCE"


def instrument_id_for(symbol: str):
    """Nautilus ``InstrumentId`` ``<SYMBOL>-PERP.BINANCE`` for a Binance USD-M symbol."""
    from nautilus_trader.model.identifiers import InstrumentId

    return InstrumentId.from_str(f"{symbol.upper()}-PERP.{VENUE}")


def contract_spec(symbol: str) -> ContractSpec:
    """The contract spec of ``symbol``; raises :class:`UnknownInstrumentError` when none is known."""
    spec = CONTRACT_SPECS.get(symbol.upper())
    if spec is None:
        known = ", ".join(sorted(CONTRACT_SPECS))
        raise UnknownInstrumentError(f"no contract specification known for symbol '{symbol}' (known: {known})")
    return spec


def _currency(code: str):
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.enums import CurrencyType

    existing = Currency.from_str(code, strict=True) if _is_registered(code) else None
    if existing is not None:
        return existing
    currency = Currency(code, precision=8, iso4217=0, name=code, currency_type=CurrencyType.CRYPTO)
    Currency.register(currency, overwrite=False)
    return currency


def _is_registered(code: str) -> bool:
    from nautilus_trader.model.currencies import Currency

    try:
        return Currency.from_str(code, strict=True) is not None
    except Exception:
        return False


def binance_perpetual(symbol: str, ts_ns: int = 0):
    """A Nautilus ``CryptoPerpetual`` for ``symbol`` (e.g. ``BTCUSDT`` → ``BTCUSDT-PERP.BINANCE``).

    ``ts_ns`` (epoch ns) is the instrument's ts_event/ts_init; the default 0 keeps catalog writes
    idempotent (the same file is overwritten on every export).
    """
    from nautilus_trader.model.identifiers import Symbol
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Money, Price, Quantity

    spec = contract_spec(symbol)
    usdt = _currency("USDT")
    return CryptoPerpetual(
        instrument_id=instrument_id_for(spec.symbol),
        raw_symbol=Symbol(spec.symbol),
        base_currency=_currency(spec.base),
        quote_currency=usdt,
        settlement_currency=usdt,
        is_inverse=False,
        price_precision=spec.price_precision,
        size_precision=spec.size_precision,
        price_increment=Price.from_str(spec.price_tick),
        size_increment=Quantity.from_str(spec.size_step),
        lot_size=Quantity.from_str(spec.size_step),
        max_quantity=Quantity.from_str(spec.max_qty) if spec.max_qty else None,
        min_quantity=Quantity.from_str(spec.min_qty),
        min_notional=Money(spec.min_notional_usdt, usdt),
        margin_init=Decimal(spec.margin_init),
        margin_maint=Decimal(spec.margin_maint),
        maker_fee=Decimal(spec.maker_fee),
        taker_fee=Decimal(spec.taker_fee),
        ts_event=ts_ns,
        ts_init=ts_ns,
    )
