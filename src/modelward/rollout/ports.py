"""The two narrow seams the rollout engine talks through, plus the clock.

``TrafficPort`` reads and sets who serves what share of an environment's traffic;
``MetricsPort`` says how a version behaved in a time window. The engine knows nothing
else about serving or logging: the adapters in :mod:`modelward.rollout.traffic` (the
``deployments`` table) and :mod:`modelward.rollout.metrics` (the Parquet prediction log,
through DuckDB) implement them, and another serving layer only needs two small classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["Clock", "MetricsPort", "TrafficPort", "TrafficState", "WindowStats"]

#: Returns the current time (timezone-aware, UTC). Tests pass a settable one.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TrafficState:
    """An environment's traffic split: ``((version, weight %), ...)`` and its revision.

    ``revision`` 0 means nothing was ever deployed there.
    """

    targets: tuple[tuple[int, float], ...]
    revision: int

    @property
    def versions(self) -> set[int]:
        return {version for version, weight in self.targets if weight > 0}

    def weight_of(self, version: int) -> float:
        return sum(weight for v, weight in self.targets if v == version)


class TrafficPort(Protocol):
    """``scope`` narrows an endpoint model's traffic to some query types' routes (the
    ``--route`` of a rollout); a port where it means nothing ignores it."""

    def current(
        self, name: str, env: str, *, scope: Sequence[str] | None = None
    ) -> TrafficState: ...

    def set_targets(
        self,
        name: str,
        env: str,
        targets: Sequence[tuple[int, float]],
        *,
        reason: str,
        actor: str,
        expected_revision: int,
        scope: Sequence[str] | None = None,
    ) -> TrafficState:
        """Replace the split; refuses (ConflictError) if the revision is no longer
        ``expected_revision``, so two writers never silently overwrite each other."""
        ...


@dataclass(frozen=True)
class WindowStats:
    """How one version behaved in one environment over ``[since, until)``."""

    requests: int = 0  # ok + error (rejected inputs are the caller's mistake, not the model's)
    errors: int = 0
    p95_latency_ms: float | None = None
    latencies: tuple[float, ...] = field(default=(), repr=False)  # a sample, for the U test
    labelled: int = 0
    correct: int = 0
    cost_rows: int = 0
    cost_per_query: float | None = None
    #: regression: mean and sample standard deviation of |prediction - label| (labelled ok)
    abs_error_mean: float | None = None
    abs_error_std: float | None = None
    cost_std: float | None = None
    #: LLM answers: users' ratings (satisfaction 0..1: mean, sample standard deviation)
    ratings: int = 0
    satisfaction_mean: float | None = None
    satisfaction_std: float | None = None
    #: where ``labelled``/``correct`` come from: "labels", "feedback" (a person's word),
    #: "feedback + online evaluation"
    accuracy_source: str = "labels"
    #: LLM answers: the same figures per query type
    by_query_type: dict[str, WindowStats] = field(default_factory=dict, repr=False)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfaction_mean if self.ratings else None

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies", "by_query_type")}
        out["error_rate"] = self.error_rate
        out["accuracy"] = self.accuracy
        if self.by_query_type:
            out["by_query_type"] = {q: s.summary() for q, s in self.by_query_type.items()}
        return out


class MetricsPort(Protocol):
    def window(
        self,
        name: str,
        env: str,
        version: int,
        since: datetime,
        until: datetime,
        *,
        evaluation: dict[str, Any] | None = None,
    ) -> WindowStats:
        """``evaluation`` (an LLM rollout's online evaluation: ``dataset``, ``sample``)
        scores the answers to the dataset's prompts against its expected answers."""
        ...
