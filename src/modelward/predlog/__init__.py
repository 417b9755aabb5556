"""The prediction log: a Parquet dataset partitioned by model and date, plus feedback.

Writer: :class:`LogWriter` (buffered, write-ahead, atomic files). Readers: DuckDB
relations :func:`predictions`, :func:`feedback`, :func:`labelled`. Layout: ``layout``.
"""

from modelward.predlog.layout import (
    FEEDBACK,
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    arrow_schema,
    feature_type,
)
from modelward.predlog.read import connect, feedback, labelled, predictions
from modelward.predlog.writer import LogWriter

__all__ = [
    "FEEDBACK",
    "FEEDBACK_COLUMNS",
    "PREDICTIONS",
    "PREDICTION_COLUMNS",
    "LogWriter",
    "arrow_schema",
    "connect",
    "feature_type",
    "feedback",
    "labelled",
    "predictions",
]
