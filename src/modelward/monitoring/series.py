"""The report's metric series: the window's labelled predictions per period (days; hours
when the window is shorter than 2 days), each period's values with a 95 % interval.

It reads the metrics check's sample of labelled requests (in a runbook the very table the
check read). A binary classifier's periods come from counts: accuracy, precision, recall
and F1 from the period's confusion counts, their interval a bootstrap of those counts (a
resample of the period's rows is a multinomial draw of its cells, so this is the row
bootstrap itself, over every row of the period, at the cost of a few counts); ROC-AUC with
DeLong's interval (as R's pROC gives by default). Other tasks bootstrap each period's
rows (:func:`~modelward.monitoring.metrics.compute_metrics`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelward.monitoring.checks.metrics import ROWS, labelled_window, positive_class
from modelward.monitoring.confusion import Z95, cells, ratio_entries
from modelward.monitoring.metrics import (
    CI_SAMPLE,
    NO_SCORES,
    ONE_CLASS,
    compute_metrics,
    resolve_metrics,
    unknown,
)
from modelward.predlog.engine import literal
from modelward.timeutil import micros

if TYPE_CHECKING:
    import pyarrow as pa

    from modelward.monitoring.context import Context
    from modelward.predlog.engine import Scan

__all__ = ["metric_series"]


def metric_series(context: Context) -> dict[str, Any]:
    """``{metrics, thresholds, step, points}``; each point ``{start, rows, metrics}``, a
    period with at least two labelled predictions."""
    assert context.model is not None and context.window is not None
    window, task = context.window, context.model.task
    names = resolve_metrics(task, None)
    step = timedelta(days=1) if window.length >= timedelta(days=2) else timedelta(hours=1)
    starts = []
    start = window.start
    while start < window.end:
        starts.append(start)
        start = start + step
    with labelled_window(context) as (held, _):
        scan = held.only(status=("ok",), labelled=True)
        positive = None
        if task == "binary-classification":
            versions = context.log.aggregate(scan, ["version"], group_by="version")
            positive = positive_class(context, [int(v) for (v,) in versions if v is not None])
        if positive is not None:
            points = _binary_points(context, scan, starts, step, names, positive)
        else:
            rows = context.log.rows(scan, ROWS, order="ts", limit=None)
            points = _row_points(rows, starts, step, task, names)
    thresholds = context.policy.thresholds.as_dict()
    return {
        "metrics": names,
        "thresholds": {n: thresholds.get(n) for n in names},
        "step": "1d" if step == timedelta(days=1) else "1h",
        "points": points,
    }


def _periods(stamps: Any, starts: list[datetime], step: timedelta) -> Any:
    """Each row's period (its index in ``starts``; -1 outside them) from its ``ts`` in
    microseconds since the epoch."""
    import numpy as np

    if not starts:
        return np.full(len(stamps), -1, dtype="int64")
    edges = np.array([micros(s) for s in [*starts, starts[-1] + step]], dtype="int64")
    period = np.searchsorted(edges, np.asarray(stamps, dtype="int64"), side="right") - 1
    period[(period < 0) | (period >= len(starts))] = -1
    return period


def _binary_points(
    context: Context,
    scan: Scan,
    starts: list[datetime],
    step: timedelta,
    names: list[str],
    positive: str,
) -> list[dict[str, Any]]:
    """A binary classifier's periods from four flags and the score of each labelled row
    (computed by the engine: no label or prediction leaves it)."""
    import numpy as np

    pos, log = literal(positive), context.log
    found = log.aggregate_columns(
        scan.only(where=["prediction IS NOT NULL"]),
        [
            f"{log.micros('ts')} AS t",
            f"label = {pos} AS hit",
            f"prediction = {pos} AS said",
            "label = prediction AS same",
            "CAST(score AS DOUBLE) AS score",
        ],
    )
    if not found or not len(found["t"]):
        return []
    period = _periods(np.ma.getdata(found["t"]), starts, step)
    hit, said, same = (np.ma.filled(found[k], False).astype(bool) for k in ("hit", "said", "same"))
    score: Any = np.ma.filled(np.ma.asarray(found["score"], dtype="float64"), np.nan)
    # the rows grouped by period once (in their order within each), then sliced
    order = np.argsort(period, kind="stable")
    bounds = np.searchsorted(period[order], np.arange(len(starts) + 1))
    points = []
    for i, start in enumerate(starts):
        mine = order[bounds[i] : bounds[i + 1]]
        if len(mine) < 2:
            continue
        values = _binary_period(hit[mine], said[mine], same[mine], score[mine], names)
        points.append({"start": start.isoformat(), "rows": len(mine), "metrics": values})
    return points


def _binary_period(
    hit: Any, said: Any, same: Any, score: Any, names: list[str]
) -> dict[str, dict[str, Any]]:
    """One period's binary metrics: confusion ratios with the bootstrap of their counts,
    ROC-AUC with DeLong's interval."""
    counts = cells(
        len(hit), int(same.sum()), int(hit.sum()), int(said.sum()), int((hit & said).sum())
    )
    ratios = ratio_entries(counts, names)
    return {name: _auc(hit, score) if name == "roc_auc" else ratios[name] for name in names}


def _auc(hit: Any, score: Any) -> dict[str, Any]:
    import numpy as np

    from modelward.stats.tests import delong_auc

    if np.isnan(score).any():
        return unknown(NO_SCORES)
    if hit.all() or not hit.any():
        return unknown(ONE_CLASS)
    auc, error = delong_auc(hit, score)
    return {
        "value": auc,
        "low": max(0.0, auc - Z95 * error),
        "high": min(1.0, auc + Z95 * error),
    }


def _row_points(
    rows: pa.Table, starts: list[datetime], step: timedelta, task: str, names: list[str]
) -> list[dict[str, Any]]:
    """A multiclass or regression model's periods: each bootstraps its rows (300 resamples
    of at most ``CI_SAMPLE`` of them, narrowed as the metrics check's interval)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # ts as microseconds from its buffer (pyarrow's to_numpy loads pandas)
    ts = pc.cast(pc.cast(rows["ts"], pa.timestamp("us", tz="UTC")), pa.int64()).combine_chunks()
    stamps = np.frombuffer(ts.buffers()[1], "int64")[ts.offset :][: len(ts)]
    period = _periods(stamps, starts, step)
    points = []
    for i, start in enumerate(starts):
        where = np.flatnonzero(period == i)
        if len(where) < 2:
            continue
        part = rows.take(where)
        values = compute_metrics(part, task, names, resamples=300, interval_rows=CI_SAMPLE)
        points.append({"start": start.isoformat(), "rows": len(where), "metrics": values})
    return points
