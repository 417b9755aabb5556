"""Normalized Wasserstein distance: W1(reference, current) / std(reference).

Dividing by the reference's standard deviation (population, as NumPy's ``std``) makes the
threshold unit-free (0.1 = the distributions moved a tenth of a standard deviation
apart); a constant reference uses 0.001 as its spread, as Evidently does.

Each side is the :class:`~.base.Distribution` of everything it stands for (SciPy's
``wasserstein_distance`` with the counts as weights, as
:func:`modelward.stats.distances.wasserstein_distance` computes it without importing
``scipy.stats``): the stored reference profile's
(every distinct value, or run medians within a measured error), a large window's values
counted by the engine (rounded to a 1/2000 of the reference's spread), else the values
themselves. By the triangle inequality the result is within the sum of the two sides'
``error`` of the exact distance over every value; that bound, divided by the spread,
is reported as ``error_bound``.
"""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample

__all__ = ["NormalizedWasserstein"]

MIN_SPREAD = 0.001


class NormalizedWasserstein(Method):
    name = "wasserstein"
    criterion = "distance"
    numeric_only = True

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from modelward.stats.distances import wasserstein_distance

        ref, cur = reference.whole(), current.whole()
        distance = wasserstein_distance(ref.values, cur.values, ref.counts, cur.counts)
        spread = max(ref.std, MIN_SPREAD)
        bound = (ref.error + cur.error) / spread
        return self._verdict(
            distance / spread, None, distance=distance, spread=spread, error_bound=bound
        )
