"""Progress on stderr: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .._export import ExportProgress, PlainProgress
from .._export._progress import format_seconds, note

__all__ = ["progress_reporter"]


@contextlib.contextmanager
def progress_reporter(
    *, terminal: bool | None = None
) -> Iterator[Callable[[ExportProgress], None]]:
    """A progress callback: a rich bar on a terminal, plain periodic lines otherwise (on stderr)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, force_terminal=terminal)
    if not console.is_terminal:
        yield PlainProgress(sys.stderr)
        return
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} items/s"),
        TextColumn("ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console) as bar:
        task: list[Any] = []  # the bar's task, added with the first page (when the total is known)

        def report(progress: ExportProgress) -> None:
            eta = progress.eta_seconds
            state = note(progress)
            label = progress.resource if state is None else f"{progress.resource}: {state}"
            rate = f"{progress.items_per_second:,.0f}"
            left = "-" if eta is None else format_seconds(eta)
            if not task:
                task.append(bar.add_task(label, total=progress.total, rate=rate, eta=left))
            bar.update(
                task[0],
                description=label,
                completed=progress.items,
                total=progress.total,
                rate=rate,
                eta=left,
            )

        yield report
