"""Population Stability Index: sum over bins of (cur - ref) * ln(cur / ref), shares
clipped below at 0.0001 so empty bins stay finite. Drifted when PSI >= threshold
(0.1 is the usual "some shift", 0.25 "major shift")."""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample, shares

__all__ = ["PopulationStability", "psi"]

FLOOR = 0.0001


def psi(reference_counts: object, current_counts: object) -> float:
    import numpy as np

    ref = np.asarray(reference_counts, dtype="float64")
    cur = np.asarray(current_counts, dtype="float64")
    p = np.clip(ref / ref.sum(), FLOOR, None)
    q = np.clip(cur / cur.sum(), FLOOR, None)
    return float(((q - p) * np.log(q / p)).sum())


class PopulationStability(Method):
    name = "psi"
    criterion = "distance"

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        _, ref, cur = shares(reference, current)
        return self._verdict(psi(ref, cur), None)
