"""Shared progress-bar helper for long CLI work (rich); ``quiet=True`` hides it."""

from __future__ import annotations

from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(quiet: bool):
    """Yield a rich ``Progress`` (disabled when quiet). Use ``p.add_task(desc, total=n)`` / ``p.advance``."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=quiet,
        transient=False,
    ) as p:
        yield p
