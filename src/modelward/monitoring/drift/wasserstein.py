"""Normalized Wasserstein distance: W1(reference, current) / std(reference).

Dividing by the reference's standard deviation makes the threshold unit-free (0.1 = the
distributions moved a tenth of a standard deviation apart); a constant reference uses
0.001 as its spread, as Evidently does.
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
        import numpy as np
        from scipy.stats import wasserstein_distance

        distance = float(wasserstein_distance(reference.values, current.values))
        spread = max(float(np.std(reference.values)), MIN_SPREAD)
        return self._verdict(distance / spread, None, distance=distance, spread=spread)
