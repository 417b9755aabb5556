"""The prediction-log layout: paths and column types (the contract monitoring reads).

``<logs>/predictions/model=<name>/date=<YYYY-MM-DD>/<writer-id>-<seq>.parquet`` holds one
row per served prediction; ``<logs>/feedback/…`` the same way holds ground-truth labels.
``model`` and ``date`` live only in the path (Hive partitioning); every other column is
listed below. Input features are ``in_<feature>`` columns typed float64, int64 or string.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COMPACTED_KEY",
    "COMPRESSION",
    "FEEDBACK",
    "FEATURE_PREFIX",
    "FEEDBACK_COLUMNS",
    "HASH_BITS",
    "PREDICTIONS",
    "PREDICTION_COLUMNS",
    "REQUEST_COLUMNS",
    "REQUEST_HI",
    "REQUEST_LO",
    "SAMPLE_HASH",
    "SEGMENT_KEY",
    "arrow_schema",
    "feature_type",
    "parquet_options",
    "partition",
    "sample_hash",
]

PREDICTIONS = "predictions"
#: Rows Parquet cannot hold, set aside as JSON lines (``<logs>/quarantine/<segment>.jsonl``).
QUARANTINE = "quarantine"
FEEDBACK = "feedback"
#: Parquet key-value metadata of a published file: the write-ahead segment it came from
#: (a segment replayed after a crash is not published twice).
SEGMENT_KEY = b"modelward.segment"
#: Parquet key-value metadata of a compacted file: the names of the files it replaced
#: (JSON), which every listing then leaves out.
COMPACTED_KEY = b"modelward.compacted_from"
#: Input features are logged as ``in_<feature>`` columns.
FEATURE_PREFIX = "in_"
#: Parquet compression of every log file. A log is written once and read by every check,
#: so decoding speed wins over size: snappy decodes faster than zstd (the benchmark's daily
#: check on a one-file 1 M-row day took 13 % longer on zstd) for files a little larger.
COMPRESSION = "snappy"
#: The column of a row's request's sample hash (:func:`sample_hash`), written with the row
#: so that a hash sample of a window filters an integer instead of hashing every request
#: id on every read (the engines hash the id for rows of files written before it).
SAMPLE_HASH = "sample_hash"
#: The bits of a request's sample hash: 60, so it is a non-negative BIGINT everywhere.
HASH_BITS = 60
#: The columns of a row's request's key (:mod:`.derive`): an id of 32 hex digits as two
#: 64-bit halves, so the label join compares integers; null for ids of other forms.
REQUEST_HI = "request_hi"
REQUEST_LO = "request_lo"
#: The columns computed from a row's request id when it is published (:mod:`.derive`):
#: a value a row carries in is never kept.
REQUEST_COLUMNS = (SAMPLE_HASH, REQUEST_HI, REQUEST_LO)
#: Columns with (nearly) a value per row: a dictionary never pays for itself there, and
#: pyarrow's fallback from a full dictionary to plain pages mid-column leaves pages that
#: cost more to read (the benchmark's join of predictions and feedback: 0.09 s against
#: 0.11 s, files 10 % smaller). Other columns get one when their values repeat.
UNIQUE_COLUMNS = frozenset({"request_id", "ts", "latency_ms", "score", "proba", *REQUEST_COLUMNS})

#: name -> arrow type name, in file order (``in_*`` columns follow ``proba``).
PREDICTION_COLUMNS: dict[str, str] = {
    "request_id": "string",
    "ts": "timestamp",
    "version": "int64",
    "environment": "string",
    "status": "string",  # ok | error | rejected
    "error": "string",
    "latency_ms": "float64",
    "prediction": "string",
    "score": "float64",
    "proba": "string",
    "client": "string",  # the API token's name, "-" when anonymous
    "flags": "string",  # inputs accepted but flagged (out of the training range), comma-joined
    # LLM endpoints (the gateway): per-call tokens, cost, and whether the cache answered
    "query_type": "string",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "cost": "float64",
    "cache_hit": "bool",
    SAMPLE_HASH: "int64",
    REQUEST_HI: "int64",
    REQUEST_LO: "int64",
}
#: A feedback row carries a ground-truth ``label`` (tabular), or a gateway answer's rating:
#: ``satisfaction`` 0..1, ``correct`` (a person's word that the answer was right) and a
#: redacted ``comment``; what a row does not carry is null. Files written before the last
#: three existed lack them (readers take them as null).
FEEDBACK_COLUMNS: dict[str, str] = {
    "request_id": "string",
    "ts": "timestamp",
    "label": "string",
    "satisfaction": "float64",
    "correct": "bool",
    "comment": "string",
    SAMPLE_HASH: "int64",
    REQUEST_HI: "int64",
    REQUEST_LO: "int64",
}

_KIND_TYPES = {"integer": "int64", "float": "float64", "string": "string", "boolean": "string"}


def parquet_options(table: pa.Table) -> dict[str, Any]:
    """Keyword arguments of ``pyarrow.parquet.write_table`` / ``ParquetWriter`` for a log
    file of ``table``'s rows (or its first row group): the log's compression, and a
    dictionary for each column whose values repeat (at most one distinct value in two
    rows: codes, categories, statuses, most features), none for the others (continuous
    features read 15 % faster without one, in files 12 % smaller)."""
    import pyarrow.compute as pc

    repeated = [
        name
        for name in table.column_names
        if name not in UNIQUE_COLUMNS
        and pc.count_distinct(table.column(name)).as_py() <= max(1, table.num_rows // 2)
    ]
    return {"compression": COMPRESSION, "use_dictionary": repeated}


def sample_hash(request_id: str) -> int:
    """A request's sample hash: the top :data:`HASH_BITS` bits of the MD5 of its id read as
    a little-endian 128-bit number (DuckDB's ``md5_number(id) >> 68``; Spark spells it
    too), so a sample is the same requests whichever engine drew it."""
    digest = hashlib.md5(request_id.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest, "little") >> (128 - HASH_BITS)


def feature_type(kind: str) -> str:
    """The column type of an input feature of schema kind ``kind``."""
    return _KIND_TYPES.get(kind, "string")


def _arrow(name: str) -> Any:
    import pyarrow as pa

    if name == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
    }[name]


def arrow_schema(kind: str, features: dict[str, str] | None = None) -> pa.Schema:
    """The file schema of a predictions or feedback batch (``features``: in_col -> type)."""
    import pyarrow as pa

    base = PREDICTION_COLUMNS if kind == PREDICTIONS else FEEDBACK_COLUMNS
    fields = [pa.field(name, _arrow(type_)) for name, type_ in base.items()]
    if kind == PREDICTIONS:
        extra = sorted((features or {}).items())
        fields += [pa.field(name, _arrow(type_)) for name, type_ in extra]
    return pa.schema(fields)


def partition(kind: str, model: str, date: str) -> str:
    return f"{kind}/model={model}/date={date}"
