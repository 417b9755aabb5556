"""Jensen-Shannon distance between the category (or bin) shares (SciPy's
``jensenshannon``, natural log, so it lies in [0, sqrt(ln 2)] ~ [0, 0.83], as
:func:`modelward.stats.distances.jensenshannon` computes it without importing
``scipy.spatial``). Drifted when distance >= threshold."""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample, shares

__all__ = ["JensenShannon"]


class JensenShannon(Method):
    name = "jensenshannon"
    criterion = "distance"

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from modelward.stats.distances import jensenshannon

        _, ref, cur = shares(reference, current)
        return self._verdict(jensenshannon(ref / ref.sum(), cur / cur.sum()), None)
