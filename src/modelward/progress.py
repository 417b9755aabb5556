"""Progress reporting seam: library code reports, the CLI draws (Rich), tests stay silent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["NO_PROGRESS", "Progress"]

T = TypeVar("T")


class Progress:
    """Reports nothing. The CLI passes a subclass that draws Rich progress bars."""

    def track(
        self, iterable: Iterable[T], *, description: str, total: float | None = None
    ) -> Iterator[T]:
        yield from iterable

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
        """A unit of work; call the yielded function to advance it (by 1 by default)."""

        def advance(amount: float = 1) -> None:
            return None

        yield advance


NO_PROGRESS = Progress()
