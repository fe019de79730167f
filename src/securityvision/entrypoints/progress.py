"""Progress for a person at a terminal (rich): drawn on stderr, only when stderr is a
terminal, and erased when the work is done, so what a command prints on stdout (its results,
its ``--json``) stays the same whether someone watches or a script reads it."""

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar


def watched() -> bool:
    """Whether a person is likely watching: stderr is a terminal."""
    return sys.stderr.isatty()


class Tracker:
    """Advances a bar, or does nothing when nobody watches."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, note: str = "", *, total: int | None = None) -> None:
        """One step done; ``note`` says which (shown beside the bar); ``total`` sets the
        number of steps once it is known."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, note=note)
            if total is not None:
                self._progress.update(self._task, total=total)

    def note(self, note: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, note=note)


class _ElapsedBar(ProgressColumn):
    """A bar that fills with the time elapsed (the task's total is a number of seconds)."""

    def render(self, task: Task) -> RenderableType:
        elapsed = task.elapsed or 0.0
        return ProgressBar(
            total=task.total,
            completed=min(elapsed, task.total or 0.0),
            width=30,
            pulse=task.total is None,
            animation_time=task.get_time(),
        )


def _console(console: Console | None) -> Console | None:
    if console is not None:
        return console
    return Console(stderr=True) if watched() else None


@contextlib.contextmanager
def steps(
    description: str, total: int | None, *, show: bool = True, console: Console | None = None
) -> Iterator[Tracker]:
    """A bar over ``total`` steps (``None``: not known), shown when ``show`` and someone
    watches (or on ``console``)."""
    shown_on = _console(console) if show else None
    if shown_on is None:
        yield Tracker()
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=shown_on,
        transient=True,
    )
    with progress:
        yield Tracker(progress, progress.add_task(description, total=total, note=""))


@contextlib.contextmanager
def timed(
    description: str, seconds: float | None, *, show: bool = True, console: Console | None = None
) -> Iterator[Tracker]:
    """A bar that fills over ``seconds`` (``None``: until stopped), with a note beside it."""
    shown_on = _console(console) if show else None
    if shown_on is None:
        yield Tracker()
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        _ElapsedBar(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=shown_on,
        transient=True,
    )
    with progress:
        yield Tracker(progress, progress.add_task(description, total=seconds, note=""))
