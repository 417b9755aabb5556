"""Arrow arrays as NumPy arrays, read from their buffers: ``to_numpy`` and
``numpy.asarray`` of an array with nulls load pandas (a tenth of a second and more of a
command's start), and these never hand a Python value across."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["floats", "not_null"]


def not_null(array: pa.Array) -> np.ndarray:
    """Which values of ``array`` are not null (its validity bitmap, from its offset)."""
    import numpy as np

    bitmap, n = array.buffers()[0], len(array)
    if bitmap is None or not array.null_count:
        return np.ones(n, np.bool_)
    end = array.offset + n
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little", count=end)
    return bits[array.offset :].astype(np.bool_)


def floats(array: pa.Array, dtype: Any) -> np.ndarray:
    """A fixed-width numeric ``array`` (its values of NumPy type ``dtype``) as float64,
    NaN where a value is null."""
    import numpy as np

    start, n = array.offset, len(array)
    values = np.frombuffer(array.buffers()[1], dtype=dtype, count=start + n)[start:]
    out = values.astype("float64")
    if array.null_count:
        out[~not_null(array)] = np.nan
    return out
