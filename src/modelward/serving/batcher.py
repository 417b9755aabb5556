"""Dynamic micro-batching for a model served as its pipeline (no proven ONNX graph).

A scikit-learn ``predict`` costs about the same for one row as for dozens, so concurrent
requests are joined. While the model is idle, the first request runs at the end of the
event loop's turn, joined by the requests read in that turn; requests that arrive while a
batch runs wait for it to end (at most :data:`WAIT_S`, 20 ms, so a slow batch does not
hold them up for long) and then run together, up to :data:`MAX_ROWS` (64) rows a
``predict`` call, in a worker thread. Each request gets its own rows' outputs back. When
the joined call raises, every request of the batch is run alone, so a request the model
cannot compute on fails alone and the others are answered.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelward.serving.models import LoadedModel, Outputs

__all__ = ["MAX_ROWS", "WAIT_S", "MicroBatcher"]

WAIT_S = 0.02
MAX_ROWS = 64

Pending = tuple[dict[str, list[Any]], int, "asyncio.Future[Outputs]"]


class MicroBatcher:
    """Joins concurrent requests to one model (on the event loop's thread)."""

    def __init__(self, model: LoadedModel, *, wait_s: float = WAIT_S, max_rows: int = MAX_ROWS):
        self.model = model
        self.wait_s = wait_s
        self.max_rows = max_rows
        self.calls = 0  # predict calls made: fewer than requests when batching works
        self._pending: list[Pending] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None
        self._running = 0  # batches in worker threads now

    async def predict(self, columns: dict[str, list[Any]]) -> Outputs:
        """The model's outputs for these rows (value lists by input name)."""
        rows = len(next(iter(columns.values()), []))
        if rows >= self.max_rows:  # a batch of its own already
            return await self._call(columns)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outputs] = loop.create_future()
        self._pending.append((columns, rows, future))
        self._rows += rows
        if self._rows >= self.max_rows:
            self._flush()
        elif self._timer is None:  # busy: after the running batch (or the longest wait)
            self._timer = loop.call_later(self.wait_s if self._running else 0, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending, self._rows = self._pending, [], 0
        if batch:
            asyncio.ensure_future(self._run(batch))

    async def _call(self, columns: dict[str, list[Any]]) -> Outputs:
        self.calls += 1
        self._running += 1
        try:
            return await asyncio.to_thread(self.model.predict_columns, columns)
        finally:
            self._running -= 1
            if not self._running and self._pending:  # the requests that waited go now
                self._flush()

    async def _run(self, batch: list[Pending]) -> None:
        if len(batch) > 1:
            names = list(batch[0][0])
            joined = {name: [v for columns, _, _ in batch for v in columns[name]] for name in names}
            try:
                whole = await self._call(joined)
            except Exception:  # noqa: BLE001 - run each alone: only the bad one fails
                pass
            else:
                start = 0
                for _, rows, future in batch:
                    _settle(future, _slice(whole, start, start + rows))
                    start += rows
                return
        for columns, _, future in batch:
            try:
                outputs = await self._call(columns)
            except Exception as exc:  # noqa: BLE001 - handed to the request that sent it
                _settle(future, error=exc)
            else:
                _settle(future, outputs)


def _slice(outputs: Outputs, start: int, end: int) -> Outputs:
    from modelward.serving.models import Outputs

    proba = None if outputs.proba is None else outputs.proba[start:end]
    matrix = None if outputs.matrix is None else outputs.matrix[start:end]
    return Outputs(
        outputs.labels[start:end], proba, outputs.scores[start:end], outputs.regression,
        matrix=matrix, keys=outputs.keys,
    )  # fmt: skip


def _settle(
    future: asyncio.Future[Outputs], outputs: Outputs | None = None, error: Exception | None = None
) -> None:
    if future.done():  # its request gave up (timeout) meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(outputs)  # type: ignore[arg-type]
