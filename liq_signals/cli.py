"""The ``liq-signals`` command line. Each sub-command lives in ``liq_signals/commands/<name>.py`` and
registers itself through ``register(app)``; heavy imports (nautilus, plotly) happen inside commands."""

from __future__ import annotations

import importlib
import sys

import typer

from liq_signals.errors import LiqSignalsError

app = typer.Typer(
    name="liq-signals",
    help="Estimated liquidation levels, proximity signals, backtests and heatmap reports for Binance USD-M perpetuals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = [
    "demo",
    "ingest",
    "info",
    "download",
    "liq_price",
    "catalog",
    "backtest",
    "levels",
    "heatmap",
    "validate",
    "study_priors",
    "compare_models",
    "live",
    "record",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"liq_signals.commands.{_name}").register(app)


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except LiqSignalsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
