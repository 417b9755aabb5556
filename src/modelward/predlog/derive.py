"""The columns the publisher derives from each row's request id, so that reads compare
integers instead of hashing strings:

- ``sample_hash``: the request's sample hash (:func:`~.layout.sample_hash`), which a
  window's hash sample filters on;
- ``request_hi`` and ``request_lo``: the request's key when its id is 32 lowercase hex
  digits (the ids the server and the feedback endpoint make: ``uuid4().hex``), the id's
  16 bytes as two signed 64-bit halves; null for any other id. The map from such ids to
  keys is one to one, so where every row has a key, a join on the keys is the join on
  the ids, exactly (:meth:`~.engines.sql.ScanSQL.label_keys`).

A value a row carries in for any of them is never kept: they are computed here, from the
row's id, by the publisher, by compaction (for files written before a column existed) and
for the write-ahead segments a read converts.
Built from Arrow's buffers with NumPy: handing Python values to Arrow would import
pandas, and a Python loop over a million ids would hold the GIL of a serving process.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from modelward.predlog.buffers import not_null
from modelward.predlog.layout import REQUEST_HI, REQUEST_LO, SAMPLE_HASH, sample_hash

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["KEY_DIGITS", "request_keys", "sample_hashes", "with_request_columns"]

#: The length of an id that has a key: 32 hex digits, 128 bits.
KEY_DIGITS = 32
_BLOCK = 65_536  # ids converted at a time (a block's digits take 16 MB of indices)


def sample_hashes(ids: Any) -> pa.Array:
    """The sample hashes of a column of request ids (null for a null id)."""
    import numpy as np

    values = ids.to_pylist()
    n = len(values)
    hashes = np.fromiter((0 if v is None else sample_hash(v) for v in values), np.int64, n)
    present = np.fromiter((v is not None for v in values), np.bool_, n)
    return _int64s(hashes, present)


def request_keys(ids: Any) -> tuple[pa.Array, pa.Array]:
    """``(request_hi, request_lo)`` of a column of request ids: the first and last eight
    bytes of each id of 32 lowercase hex digits, big-endian, as signed 64-bit integers;
    null for every other id (and a null one)."""
    import numpy as np
    import pyarrow as pa

    column = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    column = column.cast(pa.string())
    n = len(column)
    high, low = np.zeros(n, np.int64), np.zeros(n, np.int64)
    keyed = np.zeros(n, np.bool_)
    if n:
        _, offsets_buffer, data_buffer = column.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32, n + 1, column.offset * 4)
        data = np.frombuffer(data_buffer, np.uint8) if data_buffer else np.zeros(0, np.uint8)
        valid = not_null(column)
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            _keys(data, offsets[start : stop + 1], valid[start:stop], keyed[start:stop],
                  high[start:stop], low[start:stop])  # fmt: skip
    return _int64s(high, keyed), _int64s(low, keyed)


def with_request_columns(table: pa.Table, *, hashes: bool = True) -> pa.Table:
    """``table`` with its request columns computed from its ``request_id`` (added, or
    replacing what the rows carried); ``hashes=False`` leaves ``sample_hash`` as it is
    (compaction of a file whose rows have theirs)."""
    ids = table.column("request_id")
    high, low = request_keys(ids)
    derived = {REQUEST_HI: high, REQUEST_LO: low}
    if hashes:
        derived[SAMPLE_HASH] = sample_hashes(ids)
    for name, values in derived.items():
        index = table.schema.get_field_index(name)
        if index < 0:
            table = table.append_column(name, values)
        else:
            table = table.set_column(index, name, values)
    return table


def _keys(
    data: np.ndarray,
    offsets: np.ndarray,
    valid: np.ndarray,
    keyed: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
) -> None:
    """Fill one block's ``keyed``, ``high`` and ``low`` in place."""
    import numpy as np

    starts = offsets[:-1]
    candidates = np.flatnonzero(valid & (np.diff(offsets) == KEY_DIGITS))
    if not len(candidates):
        return
    digits = _nibbles()[data[starts[candidates, None] + np.arange(KEY_DIGITS)]]
    whole = (digits >= 0).all(axis=1)
    rows, digits = candidates[whole], digits[whole].astype(np.uint8)
    octets = np.ascontiguousarray((digits[:, 0::2] << 4) | digits[:, 1::2])
    halves = octets.view(">i8")  # (rows, 2): the id's bytes, big-endian halves
    keyed[rows] = True
    high[rows] = halves[:, 0]
    low[rows] = halves[:, 1]


@functools.cache  # built on first use: NumPy is not imported with the module
def _nibbles() -> np.ndarray:
    """Each byte's hex digit value (``0-9``, ``a-f``), -1 for any other byte."""
    import numpy as np

    table = np.full(256, -1, np.int16)
    for value, digit in enumerate(b"0123456789abcdef"):
        table[digit] = value
    return table


def _int64s(values: np.ndarray, present: np.ndarray) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    n = len(values)
    validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    data = pa.py_buffer(values.astype(np.int64, copy=False).tobytes())
    nulls = n - int(present.sum())
    return pa.Array.from_buffers(pa.int64(), n, [validity, data], null_count=nulls)
