"""The ``liq-signals`` command line. Each sub-command lives in ``liq_signals/commands/<name>.py`` and
registers itself through ``register(app)``; heavy imports (nautilus, plotly) happen inside commands.

Exit codes: 0 success, 2 user error (bad option, unknown command, bad data; one ``error: ...`` line on
stderr), 130 interrupted; a command may return another code through ``typer.Exit(code)``."""

from __future__ import annotations

import importlib
import sys

import typer
from typer.exceptions import TyperException

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
    "study_signals",
    "serve",
    "live",
    "record",
]

USAGE_EXIT_CODE = 2


def _print_version(value: bool) -> None:
    if value:
        from liq_signals import __version__

        typer.echo(f"liq-signals {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the liq-signals version and exit."
    ),
) -> None:
    """Estimated liquidation levels, proximity signals, backtests and heatmap reports for Binance USD-M perpetuals."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"liq_signals.commands.{_name}").register(app)


def usage_error_line(exc: TyperException) -> str:
    """One line for a typer/click usage error: the message (naming the option) and where to get help."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {message}{hint}"


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the process exit code."""
    try:
        rv = app(args=argv, prog_name="liq-signals", standalone_mode=False)
    except LiqSignalsError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return USAGE_EXIT_CODE
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except TyperException as exc:  # usage errors (typer's vendored click): bad value, unknown option/command
        from typer._click.exceptions import NoArgsIsHelpError

        if isinstance(exc, NoArgsIsHelpError):  # bare `liq-signals`: the help text, as click does
            print(exc.format_message(), file=sys.stderr)
            return USAGE_EXIT_CODE
        print(usage_error_line(exc), file=sys.stderr)
        return USAGE_EXIT_CODE
    # standalone_mode=False: typer returns the code of a `typer.Exit(code)` raised by the command
    if isinstance(rv, int) and not isinstance(rv, bool):
        return rv
    return 0


def main() -> None:
    """Console-script entry point: ``sys.exit`` with the code of :func:`run`."""
    sys.exit(run())


if __name__ == "__main__":
    main()
