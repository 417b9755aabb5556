"""Everything the CLI prints: tables, JSON, one-line errors, progress bars (how a number
or a time reads is :mod:`modelward.present`, shared with the reports).

Results go to stdout (a table, or JSON with ``--json``); progress bars and errors go
to stderr, so ``--json`` output can be piped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from modelward.present import dump_json, fmt
from modelward.present import fmt_time as fmt_time
from modelward.progress import Progress

if TYPE_CHECKING:  # Rich is imported when something is drawn: ``--json`` draws nothing
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "RichProgress",
    "console",
    # dump_json, fmt and fmt_time live in modelward.present; cli/commands/monitor.py and
    # monitoring/report.py still import them from here
    "dump_json",
    "err_console",
    "fmt",
    "fmt_time",
    "make_console",
    "print_error",
    "print_json",
    "satisfaction_table",
    "table",
]


def make_console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr; wide when not a terminal, so piped
    tables are not wrapped at 80 columns ($COLUMNS still wins)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        width = int(os.environ.get("COLUMNS") or 160)
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


class _CurrentConsole:
    """``console.print(…)`` on whatever stdout (or stderr) is now (tests swap them)."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(make_console(stderr=self._stderr), name)


console: Console = _CurrentConsole()  # type: ignore[assignment]
err_console: Console = _CurrentConsole(stderr=True)  # type: ignore[assignment]

T = TypeVar("T")


def print_json(value: Any) -> None:
    sys.stdout.write(dump_json(value) + "\n")
    sys.stdout.flush()


def print_error(message: str) -> None:
    """One line on stderr, never wrapped."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> Table:
    from rich.table import Table

    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(fmt(cell) for cell in row))
    return out


def satisfaction_table(entries: Iterable[Any]) -> Table:
    """Users' ratings per model version and query type (``Satisfaction`` objects or their
    ``to_dict()``): `monitor predictions` and `llm usage` print it."""
    rows = []
    for entry in entries:
        e = entry if isinstance(entry, dict) else entry.to_dict()
        rows.append(
            (
                e["model"], e["version"], e["query_type"], e["answers"], e["ratings"],
                e["mean"], e["labelled"], e["correct"], e["accuracy"],
            )
        )  # fmt: skip
    columns = ("model", "version", "query type", "answers", "ratings", "mean satisfaction")
    return table(
        (*columns, "labelled", "correct", "accuracy"), rows, title="user satisfaction (0..1)"
    )


class RichProgress(Progress):
    """Rich progress bars on stderr (hidden when stderr is not a terminal)."""

    def __init__(self) -> None:
        # here, not at the top: only long commands draw bars, and every command starts
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as _Bars

        self._bars = _Bars(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=make_console(stderr=True),
            transient=True,
        )

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def track(
        self, iterable: Iterable[T], *, description: str, total: float | None = None
    ) -> Iterator[T]:
        if total is None and hasattr(iterable, "__len__"):
            total = float(len(iterable))  # type: ignore[arg-type]
        task = self._bars.add_task(description, total=total)
        for item in iterable:
            yield item
            self._bars.advance(task)
        self._bars.remove_task(task)

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
        task = self._bars.add_task(description, total=total)

        def advance(amount: float = 1) -> None:
            self._bars.advance(task, amount)

        try:
            yield advance
        finally:
            self._bars.remove_task(task)
