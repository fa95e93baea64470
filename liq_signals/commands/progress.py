"""Shared progress display for long CLI work; ``quiet=True`` hides it.

On a terminal it is a rich progress bar. Without one (a log file, a pipe, CI) a live bar would print
nothing until the end, so progress is written as plain lines on stderr instead — one each time another
10% of the work is done or 10 s have passed since the last line, and one when the work ends::

    study-priors: 7/28 (25%), 61 s elapsed
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

LINE_EVERY_SECONDS = 10.0
LINE_EVERY_FRACTION = 0.1


class LineProgress(Progress):
    """A rich ``Progress`` that draws nothing but prints progress lines to ``stream`` (default stderr).

    Same interface as ``Progress`` (``add_task``, ``advance``, ``update``, ``tasks``, ``console``). A line is
    printed when a task has advanced by ``every_fraction`` of its total since the last line, when
    ``every_seconds`` (of ``clock``) have passed, and once at the end for a task not yet reported as done."""

    def __init__(
        self,
        stream=None,
        every_seconds: float = LINE_EVERY_SECONDS,
        every_fraction: float = LINE_EVERY_FRACTION,
        clock=time.monotonic,
    ):
        super().__init__(disable=True)
        self._stream = stream
        self._every_s, self._every_f, self._clock = every_seconds, every_fraction, clock
        self._started: dict = {}
        self._last: dict = {}  # task id -> (clock time, completed) of the last line

    def add_task(self, description: str, *args, **kwargs):
        task_id = super().add_task(description, *args, **kwargs)
        now = self._clock()
        self._started[task_id] = now
        self._last[task_id] = (now, self._task(task_id).completed)
        return task_id

    def update(self, task_id, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self._maybe_line(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._maybe_line(task_id)

    def stop(self) -> None:
        for task_id in list(self._last):
            task = self._task(task_id)
            if task is not None and task.completed > self._last[task_id][1]:
                self._line(task_id, task)
        super().stop()

    # ------------------------------------------------------------------------------------------------
    def _task(self, task_id):
        with self._lock:
            return self._tasks.get(task_id)

    def _maybe_line(self, task_id) -> None:
        task = self._task(task_id)
        if task is None or task_id not in self._last:
            return
        now = self._clock()
        t_last, done_last = self._last[task_id]
        if task.completed <= done_last:
            return
        due = now - t_last >= self._every_s
        if task.total:
            step = self._every_f * task.total
            due = due or task.completed >= task.total or task.completed - done_last >= step - 1e-9
        if due:
            self._line(task_id, task, now)

    def _line(self, task_id, task, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        elapsed = now - self._started[task_id]
        done = f"{task.completed:g}"
        if task.total:
            done += f"/{task.total:g} ({100 * task.completed / task.total:.0f}%)"
        stream = self._stream if self._stream is not None else sys.stderr
        print(f"{task.description}: {done}, {elapsed:.0f} s elapsed", file=stream, flush=True)
        self._last[task_id] = (now, task.completed)


def _stdout_is_terminal() -> bool:
    from rich.console import Console

    return Console().is_terminal


@contextmanager
def progress_bar(quiet: bool):
    """Yield a progress object (``p.add_task(desc, total=n)`` / ``p.advance(task)`` / ``p.update``): a rich
    bar on a terminal, progress lines on stderr otherwise, nothing when ``quiet``."""
    if quiet or _stdout_is_terminal():
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=quiet,
            transient=False,
        ) as p:
            yield p
    else:
        with LineProgress() as p:
            yield p
