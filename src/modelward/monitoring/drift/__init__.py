"""Drift methods: one small module per statistic, all with the same interface.

Each method compares a *reference* :class:`~.base.Sample` (numeric values, or category
counts) with a *current* one and returns a :class:`~.base.DriftScore`:

- ``ks`` (:mod:`.ks`): numeric values; drifted when p < ``drift.p_value`` (0.05).
  Default for numeric features with a reference of at most 1 000 rows.
- ``ztest`` (:mod:`.ztest`): two-proportion z-test; drifted when p < 0.05. Default for
  categorical features with two categories (both samples together) and a reference of
  at most 1 000 rows.
- ``chi2`` (:mod:`.chi2`): chi-squared test of homogeneity on the 2 x k table of
  category counts; drifted when p < 0.05. Default for categorical features with more
  categories and a reference of at most 1 000 rows.
- ``wasserstein`` (:mod:`.wasserstein`): numeric values; drifted when
  W1 / std(reference) >= ``drift.distance_threshold`` (0.1). Default for larger
  references. Computed on the samples' :class:`~.base.Distribution` when they carry one
  (the stored reference's, the window's counted in the engine), within the bound it
  reports of the exact value.
- ``jensenshannon`` (:mod:`.jensenshannon`): shares per category or bin; drifted when the
  distance >= 0.1. Default for categorical features with larger references.
- ``psi`` (:mod:`.psi`): shares per category or bin; drifted when PSI >= 0.1. On request.

The defaults follow Evidently's: on small samples a hypothesis test has the power to
notice real shifts and its p-value means something; on large samples every tiny shift is
"significant", so a distance with a fixed threshold says whether the shift is big enough
to matter. Every test here is a two-sample test: the reference is a sample too.
Numeric values meet the category methods through bins: the reference's
deciles (unique edges, open at both ends). ``drift.methods`` in ``policy.yml`` (or
``--method feature=name``) overrides the choice per feature.
"""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample
from modelward.monitoring.drift.chi2 import Chi2
from modelward.monitoring.drift.jensenshannon import JensenShannon
from modelward.monitoring.drift.ks import KolmogorovSmirnov
from modelward.monitoring.drift.psi import PopulationStability
from modelward.monitoring.drift.wasserstein import NormalizedWasserstein
from modelward.monitoring.drift.ztest import TwoProportionZ

__all__ = ["METHODS", "DriftScore", "Method", "Sample", "choose_method"]

METHODS: dict[str, type[Method]] = {
    "chi2": Chi2,
    "jensenshannon": JensenShannon,
    "ks": KolmogorovSmirnov,
    "psi": PopulationStability,
    "wasserstein": NormalizedWasserstein,
    "ztest": TwoProportionZ,
}


def choose_method(
    kind: str, reference_rows: int, *, categories: int = 0, small_sample_rows: int = 1000
) -> str:
    """Evidently's defaults: tests on small references (the z-test for two
    ``categories``, chi-squared for more), distances on large ones."""
    small = reference_rows <= small_sample_rows
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    if small:
        return "ztest" if categories <= 2 else "chi2"
    return "jensenshannon"
