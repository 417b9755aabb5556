"""The prediction log: a Parquet dataset partitioned by model and date, plus feedback.

Writer: :class:`LogWriter` (buffered, write-ahead, atomic files). Reader: :class:`LogReader`
(every reader of the log goes through it: one listing, an engine behind a small seam,
:mod:`.engine`). Ad-hoc DuckDB relations: :func:`predictions`, :func:`feedback`,
:func:`labelled`. Layout: ``layout``.

The names are imported on first use, so a module that needs only ``layout`` (the
workspace's paths, every command) does not load the writer and the reader.
"""

from typing import TYPE_CHECKING

from modelward.lazy import lazy_exports
from modelward.predlog.layout import (
    FEEDBACK,
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    arrow_schema,
    feature_type,
)

if TYPE_CHECKING:
    from modelward.predlog.reader import LogReader
    from modelward.predlog.relations import feedback, labelled, predictions
    from modelward.predlog.writer import LogWriter

_LAZY = {
    "LogReader": "modelward.predlog.reader",
    "LogWriter": "modelward.predlog.writer",
    "feedback": "modelward.predlog.relations",
    "labelled": "modelward.predlog.relations",
    "predictions": "modelward.predlog.relations",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "FEEDBACK",
    "FEEDBACK_COLUMNS",
    "PREDICTIONS",
    "PREDICTION_COLUMNS",
    "LogReader",
    "LogWriter",
    "arrow_schema",
    "feature_type",
    "feedback",
    "labelled",
    "predictions",
]
