"""Progress of a run: a rich progress bar on a terminal, log lines otherwise.

On a terminal with several sources to read, a bar on standard error advances as each
source is done. Off a terminal (cron, pipes) there is no bar: each source's outcome is
a log line (``aggregator.core``), shown with ``--verbose``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ...config.settings import Settings
from ...core import SourceReport

Callback = Callable[[SourceReport], None]


@contextmanager
def progress_for(settings: Settings, *, enabled: bool = True) -> Iterator[Callback | None]:
    """A callback for :func:`aggregator.core.run`, or None when no bar is wanted."""
    total = sum(1 for source in settings.sources if source.enabled)
    if not enabled or total < 2 or not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("[bold]Sources"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("", total=total)

    def advance(report: SourceReport) -> None:
        mark = "failed" if report.error else ("not modified" if report.not_modified else "ok")
        bar.update(task, advance=1, description=f"{report.name}: {mark}")

    with bar:
        yield advance
