"""The prediction log: a Parquet dataset partitioned by model and date, plus feedback.

Writer: :class:`LogWriter` (buffered, write-ahead, atomic files). Reader: :class:`LogReader`
(every reader of the log goes through it: one listing, an engine behind a small seam,
:mod:`.engine`). Ad-hoc DuckDB relations: :func:`predictions`, :func:`feedback`,
:func:`labelled`. Layout: ``layout``.
"""

from modelward.predlog.layout import (
    FEEDBACK,
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    arrow_schema,
    feature_type,
)
from modelward.predlog.reader import LogReader
from modelward.predlog.relations import feedback, labelled, predictions
from modelward.predlog.writer import LogWriter

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
