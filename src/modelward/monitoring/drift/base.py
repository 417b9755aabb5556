"""The interface of a drift method, and the two kinds of sample it compares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from modelward.errors import ConfigError

__all__ = [
    "Distribution",
    "DriftScore",
    "Method",
    "Sample",
    "bin_edges",
    "count_below",
    "shares",
]


@dataclass(frozen=True)
class Distribution:
    """All the numeric values a sample stands for, as distinct (or merged) ``values``
    with their ``counts``: the reference profile's, or a window's counted by the engine.
    ``error`` bounds the Wasserstein distance between it and the values themselves (0:
    exact); ``std`` is theirs (population, ddof 0)."""

    values: Any
    counts: Any
    std: float
    error: float = 0.0

    @classmethod
    def of(cls, values: Any) -> Distribution:
        """The exact distribution of an array of values."""
        import numpy as np

        values = np.asarray(values, dtype="float64")
        points, counts = np.unique(values, return_counts=True)
        return cls(points, counts, float(values.std()) if len(values) else 0.0)


@dataclass
class Sample:
    """Numeric ``values`` (a NumPy array), or categorical ``counts`` (label -> count).
    A numeric sample may carry the ``distribution`` of every value it was drawn from."""

    values: Any = None
    counts: dict[str, int] | None = None
    rows: int = 0  # how many rows the sample stands for (the reference's full size)
    distribution: Distribution | None = None

    def whole(self) -> Distribution:
        """The distribution of everything the sample stands for: its own, else the
        values' (exact when they are all of them)."""
        return self.distribution or Distribution.of(self.values)

    @property
    def kind(self) -> str:
        return "numeric" if self.values is not None else "categorical"

    _known: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        if self.values is not None:
            return int(len(self.values))
        return int(sum((self.counts or {}).values()))

    def below(self, points: Any) -> tuple[Any, Any]:
        """``(#(v < p), #(v <= p))`` of the values for each of the increasing ``points``
        (:func:`count_below`), read off the counts of :meth:`know` when it covered them."""
        import numpy as np

        points = np.asarray(points, dtype="float64")
        if self._known is not None and len(points):
            known, below, up_to = self._known
            at = np.minimum(np.searchsorted(known, points), len(known) - 1)
            if (known[at] == points).all():
                return below[at], up_to[at]
        return count_below(self.values, points, both=True)

    def know(self, points: Any) -> None:
        """Count the values below all ``points`` at once, in one pass, for later
        :meth:`below` calls on any of them (a drift test and a report histogram)."""
        import numpy as np

        points = np.unique(np.asarray(points, dtype="float64"))
        if len(points):
            self._known = (points, *count_below(self.values, points, both=True))


@dataclass(frozen=True)
class DriftScore:
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            **self.extra,
        }


class Method:
    """``Method(threshold).score(reference, current) -> DriftScore``."""

    name: ClassVar[str]
    #: "p_value": drifted when p < threshold; "distance": drifted when statistic >= threshold
    criterion: ClassVar[str]
    numeric_only: ClassVar[bool] = False

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def score(self, reference: Sample, current: Sample) -> DriftScore:
        if self.numeric_only and (reference.kind != "numeric" or current.kind != "numeric"):
            raise ConfigError(
                f"drift method {self.name} needs a numeric feature; use chi2, jensenshannon "
                "or psi for categorical features"
            )
        return self._score(reference, current)

    def _score(self, reference: Sample, current: Sample) -> DriftScore:  # pragma: no cover
        raise NotImplementedError

    def _verdict(self, statistic: float, p_value: float | None, **extra: Any) -> DriftScore:
        if self.criterion == "p_value":
            drifted = p_value is not None and p_value < self.threshold
        else:
            drifted = statistic >= self.threshold
        return DriftScore(self.name, float(statistic), p_value, self.threshold, drifted, extra)


def bin_edges(reference: Any, bins: int = 10) -> Any:
    """Inner edges at the reference's quantiles (unique), so each bin holds ~1/bins of it."""
    import numpy as np

    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return inner


def shares(reference: Sample, current: Sample) -> tuple[list[str], Any, Any]:
    """Both samples as count vectors over one set of categories (numeric: reference bins)."""
    import numpy as np

    if reference.kind == "numeric" and current.kind == "numeric":
        inner = bin_edges(reference.values)
        ref = np.bincount(
            np.searchsorted(inner, reference.values, side="right"), minlength=len(inner) + 1
        )
        cur = np.bincount(
            np.searchsorted(inner, current.values, side="right"), minlength=len(inner) + 1
        )
        labels = [f"<{inner[0]:g}" if len(inner) else "all"]
        labels += [f"[{a:g}, {b:g})" for a, b in zip(inner[:-1], inner[1:], strict=True)]
        if len(inner):
            labels.append(f">={inner[-1]:g}")
        return labels, ref.astype("float64"), cur.astype("float64")
    if reference.kind != current.kind:
        raise ConfigError("cannot compare a numeric sample with a categorical one")
    ref_counts = reference.counts or {}
    cur_counts = current.counts or {}
    keys = sorted(set(ref_counts) | set(cur_counts), key=str)
    ref_vec = np.array([ref_counts.get(k, 0) for k in keys], dtype="float64")
    cur_vec = np.array([cur_counts.get(k, 0) for k in keys], dtype="float64")
    return keys, ref_vec, cur_vec


def count_below(values: Any, points: Any, *, inclusive: bool = False, both: bool = False) -> Any:
    """How many ``values`` lie below each of the increasing ``points``: ``#(v < p)``, or
    ``#(v <= p)`` with ``inclusive``, or both as a pair with ``both``. Exact (integer
    counts), one binary search per value among the points and no sort of the values, so
    a 100 000-value sample against a few hundred points costs a few milliseconds."""
    import numpy as np

    points = np.asarray(points, dtype="float64")
    values = np.asarray(values, dtype="float64")
    k = len(points)
    if both:
        # slot 2i: p_{i-1} < v < p_i (i points below v); slot 2i+1: v == p_i
        below = np.searchsorted(points, values, side="left")
        tie = points[np.minimum(below, k - 1)] == values if k else np.zeros(len(values), bool)
        cum = np.cumsum(np.bincount(2 * below + tie, minlength=2 * k + 2))
        return cum[0 : 2 * k : 2], cum[1 : 2 * k + 1 : 2]
    # v < p_i  <=>  #(points <= v) <= i ;  v <= p_i  <=>  #(points < v) <= i
    slot = np.searchsorted(points, values, side="left" if inclusive else "right")
    return np.cumsum(np.bincount(slot, minlength=k + 1))[:k]
