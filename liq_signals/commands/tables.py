"""Rich summary tables for the CLI that never truncate a cell: long ids and paths fold onto the next line."""

from __future__ import annotations


def new_table(title: str, headers) -> Table:  # noqa: F821
    """A rich ``Table`` with one column per header; every column folds (never ellipsises) long values."""
    from rich.table import Table

    table = Table(title=title)
    for h in headers:
        table.add_column(str(h), overflow="fold")
    return table


def new_console(width: int | None = None) -> Console:  # noqa: F821
    """A rich ``Console`` on stdout, at least ``width`` columns wide when given (wider terminals keep theirs)."""
    from rich.console import Console

    if width is None:
        return Console()
    return Console(width=max(Console().width, width))
