"""Statistics shared by evaluation, monitoring, canary analysis and LLM comparison.

- :mod:`~modelward.stats.bootstrap`: percentile bootstrap confidence intervals, unpaired
  and paired (two models scored on the same rows).
- :mod:`~modelward.stats.tests`: McNemar (paired accuracy), DeLong (paired ROC-AUC),
  two-proportion z-test (error rates, accuracy on two samples), Mann-Whitney U with an
  effect size (latency).
- :mod:`~modelward.stats.ks`, :mod:`~modelward.stats.kolmogorov`,
  :mod:`~modelward.stats.contingency`, :mod:`~modelward.stats.distances`: SciPy's
  ``ks_2samp``, ``kstwo.sf``, ``chi2_contingency``, ``wasserstein_distance`` and
  ``jensenshannon`` ported onto NumPy and ``scipy.special`` (the same figures to the last
  bit; the chi-squared and normal tails within a relative 1e-12, from
  :mod:`~modelward.stats.special` on the standard library), so the drift check imports
  neither ``scipy.stats`` nor, on a small log, ``scipy.special``.

Every function takes NumPy arrays and returns plain dataclasses of floats, so results go
straight into run records.
"""

from modelward.stats.bootstrap import Interval, PairedDifference, bootstrap_ci, paired_bootstrap
from modelward.stats.tests import (
    DeLongResult,
    MannWhitneyResult,
    McNemarResult,
    TwoProportionResult,
    delong,
    mann_whitney,
    mcnemar,
    two_proportion,
)

__all__ = [
    "DeLongResult",
    "Interval",
    "MannWhitneyResult",
    "McNemarResult",
    "PairedDifference",
    "TwoProportionResult",
    "bootstrap_ci",
    "delong",
    "mann_whitney",
    "mcnemar",
    "paired_bootstrap",
    "two_proportion",
]
