"""The policy: every threshold and weight the runbooks name, validated on load.

The shipped defaults are the runbooks' numbers. Each section is its own small model with
``extra="forbid"``, so a typo in ``policy.yml`` is an error naming the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelward.timeutil import parse_duration

__all__ = [
    "AlertSink",
    "AlertsPolicy",
    "BiasPolicy",
    "DataPolicy",
    "DriftPolicy",
    "LLMPolicy",
    "LatencyPolicy",
    "MonitoringPolicy",
    "Policy",
    "RetentionPolicy",
    "RetirementPolicy",
    "RobustnessPolicy",
    "RolloutPolicy",
    "RolloutStage",
    "ServingPolicy",
    "ThresholdsPolicy",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Fraction = float


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a fraction between 0 and 1, got {value}")
    return value


class ThresholdsPolicy(_Section):
    """Performance gates for classifiers (runbook: daily metric checks). Higher is better."""

    accuracy: Fraction = 0.80
    roc_auc: Fraction = 0.85
    f1: Fraction = 0.75
    precision: Fraction = 0.80
    recall: Fraction = 0.75
    use_lower_ci: bool = False
    min_labels: int = Field(default=30, ge=1)

    _check = field_validator("accuracy", "roc_auc", "f1", "precision", "recall")(_fraction)

    def as_dict(self) -> dict[str, float]:
        return {
            "accuracy": self.accuracy,
            "roc_auc": self.roc_auc,
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
        }


class DataPolicy(_Section):
    """Data quality: missing values below 5 %, what to do with out-of-range inputs."""

    max_missing_rate: Fraction = 0.05
    out_of_range: Literal["reject", "flag"] = "flag"
    max_correlation: Fraction = 0.90
    max_target_correlation: Fraction = 0.95
    min_minority_share: Fraction = 0.10

    _check = field_validator(
        "max_missing_rate", "max_correlation", "max_target_correlation", "min_minority_share"
    )(_fraction)


class DriftPolicy(_Section):
    """Drift: the share of drifted features must stay below 10 %."""

    max_drifted_share: Fraction = 0.10
    prediction_threshold: Fraction = 0.10
    small_sample_rows: int = Field(default=1000, ge=1)
    p_value: Fraction = 0.05
    distance_threshold: Fraction = 0.10
    methods: dict[str, Literal["ks", "chi2", "psi", "wasserstein", "jensenshannon"]] = {}

    _check = field_validator(
        "max_drifted_share", "prediction_threshold", "p_value", "distance_threshold"
    )(_fraction)


class BiasPolicy(_Section):
    """Fairness over protected attributes (Fairlearn's definitions)."""

    protected: list[str] = ["sex", "age"]
    age_bands: list[float] = [40, 55, 65]
    max_demographic_parity_difference: Fraction = 0.20
    max_equalized_odds_difference: Fraction = 0.20
    min_group_size: int = Field(default=10, ge=1)


class RobustnessPolicy(_Section):
    noise_std: float = Field(default=0.1, ge=0)
    missing_rate: Fraction = 0.05
    max_accuracy_drop: Fraction = 0.05
    max_flip_rate: Fraction = 0.10


class LatencyPolicy(_Section):
    p95_ms: float = Field(default=100.0, gt=0)
    p99_ms: float = Field(default=250.0, gt=0)


class ServingPolicy(_Section):
    latency: LatencyPolicy = LatencyPolicy()
    flush_rows: int = Field(default=1000, ge=1)
    flush_ms: int = Field(default=1000, ge=1)
    #: A request whose model gives no answer within this many seconds gets a 504.
    predict_timeout_s: float = Field(default=30.0, gt=0)
    #: A connection whose request headers are not complete within this many seconds (of
    #: opening, or of the request's first byte) is closed: slow-loris and idle clients.
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    #: A keep-alive connection idle this many seconds after a response is closed.
    keep_alive_s: float = Field(default=5.0, gt=0, le=3600)
    #: Open connections per server process; beyond, requests are answered 503.
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)


class RolloutStage(_Section):
    weight: float = Field(gt=0, le=100)
    duration: str = "0s"

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value, what="rollout stage duration")
        return value


class RolloutPolicy(_Section):
    """Canary stages 5/25/50/100 % with automatic rollback (LLM runbook)."""

    stages: list[RolloutStage] = [
        RolloutStage(weight=5, duration="30m"),
        RolloutStage(weight=25, duration="1h"),
        RolloutStage(weight=50, duration="2h"),
        RolloutStage(weight=100, duration="0s"),
    ]
    check_interval: str = "1m"
    min_samples: int = Field(default=100, ge=1)
    max_error_rate: Fraction = 0.05
    min_accuracy: Fraction = 0.80
    #: regression: the canary's mean absolute error may exceed stable's by this share
    max_abs_error_increase: float = Field(default=0.10, ge=0)
    max_cost_increase: float = Field(default=0.20, ge=0)
    max_p95_latency_ms: float = Field(default=500.0, gt=0)
    failure_limit: int = Field(default=3, ge=1)
    # The statistical judgement (Kayenta-style) beside the hard limits.
    alpha: Fraction = 0.05
    min_labels: int = Field(default=30, ge=1)
    latency_effect_size: float = Field(default=0.60, ge=0.5, le=1.0)

    _check = field_validator("max_error_rate", "min_accuracy", "alpha")(_fraction)

    @model_validator(mode="after")
    def _increasing(self) -> RolloutPolicy:
        weights = [stage.weight for stage in self.stages]
        if not weights or weights != sorted(weights) or weights[-1] != 100:
            raise ValueError(f"stage weights must increase and end at 100, got {weights}")
        parse_duration(self.check_interval, what="rollout.check_interval")
        return self


class LLMPolicy(_Section):
    """LLM fleet: accuracy per query category, selection weights, cost limits."""

    category_thresholds: dict[str, Fraction] = {
        "factual": 0.95,
        "technical": 0.90,
        "research": 0.85,
        "multimodal": 0.80,
    }
    max_response_time_s: dict[str, float] = {
        "factual": 2.0,
        "technical": 5.0,
        "research": 10.0,
        "multimodal": 8.0,
    }
    weights: dict[str, dict[str, float]] = {
        "factual": {"accuracy": 0.5, "response_time": 0.3, "cost": 0.2},
        "technical": {"accuracy": 0.6, "response_time": 0.2, "cost": 0.2},
        "research": {"accuracy": 0.7, "response_time": 0.1, "cost": 0.2},
        "multimodal": {"accuracy": 0.5, "response_time": 0.2, "cost": 0.3},
    }
    max_cost_per_query: float = Field(default=0.10, ge=0)
    monthly_budget: float = Field(default=10000.0, ge=0)
    cost_increase_alert: float = Field(default=0.20, ge=0)
    quota_warning: Fraction = 0.80
    quota_critical: Fraction = 0.90
    max_error_rate: Fraction = 0.05
    latency_warning_factor: float = Field(default=1.5, gt=1)
    latency_critical_factor: float = Field(default=2.0, gt=1)


class RetirementPolicy(_Section):
    min_accuracy: Fraction = 0.80
    max_p95_latency_ms: float = Field(default=500.0, gt=0)
    max_cost_per_query: float = Field(default=0.10, ge=0)
    max_error_rate: Fraction = 0.10
    better_by: float = Field(default=0.20, ge=0)
    cheaper_by: Fraction = 0.30

    _check = field_validator("min_accuracy", "max_error_rate", "cheaper_by")(_fraction)


class RetentionPolicy(_Section):
    keep_last: int = Field(default=5, ge=0)
    keep_best: int = Field(default=2, ge=0)
    metric: str = "roc_auc"


class AlertSink(_Section):
    """Where alerts and notifications go (docs/monitor.md, Alerts and notifications)."""

    kind: Literal["console", "file", "webhook", "slack", "apprise"]
    path: str | None = None
    url: str | None = None
    #: the least urgent level sent: info takes rollout and lifecycle notifications too
    min_level: Literal["info", "warning", "critical"] = "warning"
    #: only messages from these (exact names); unset: from everywhere
    sources: list[Literal["monitor", "llm", "rollout", "lifecycle", "serving"]] | None = None
    #: also send an alert's resolution
    send_resolved: bool = True

    @model_validator(mode="after")
    def _target(self) -> AlertSink:
        if self.kind == "file" and not self.path:
            raise ValueError("a file sink needs a path")
        if self.kind in ("webhook", "slack", "apprise") and not self.url:
            raise ValueError(f"a {self.kind} sink needs a url")
        if self.kind in ("webhook", "slack") and not str(self.url).startswith(
            ("http://", "https://")
        ):
            raise ValueError(f"a {self.kind} sink needs an http:// or https:// url")
        if self.sources is not None and not self.sources:
            raise ValueError("sources lists no source; leave it out to take every source")
        return self


class AlertsPolicy(_Section):
    sinks: list[AlertSink] = [AlertSink(kind="console")]
    dedupe_window: str = "1h"


class MonitoringPolicy(_Section):
    """Production monitoring (runbook: daily, weekly, monthly checks)."""

    window: str = "24h"
    environment: str = "production"
    max_out_of_range_share: Fraction = 0.01
    max_unseen_share: Fraction = 0.01
    max_zero_share: Fraction = 0.05  # zeros where the reference never had any
    volume_low: Fraction = 0.5  # rows below half of the previous windows' mean
    volume_high: float = Field(default=2.0, gt=1)
    volume_windows: int = Field(default=7, ge=1)
    low_confidence: Fraction = 0.6  # review: max class probability below this
    min_slice_rows: int = Field(default=10, ge=1)
    daily: list[str] = ["compact", "metrics", "predictions", "quality", "alerts"]
    weekly: list[str] = ["metrics", "drift", "quality", "degradation", "report", "backup"]
    monthly: list[str] = ["evaluation", "drift", "baseline", "retention", "report"]
    watch_checks: list[str] = ["metrics", "predictions", "quality", "drift"]

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value, what="monitoring.window")
        return value


class Policy(_Section):
    """The whole policy file. ``Policy()`` is the runbooks' defaults."""

    version: Literal[1] = 1
    thresholds: ThresholdsPolicy = ThresholdsPolicy()
    data: DataPolicy = DataPolicy()
    drift: DriftPolicy = DriftPolicy()
    bias: BiasPolicy = BiasPolicy()
    robustness: RobustnessPolicy = RobustnessPolicy()
    serving: ServingPolicy = ServingPolicy()
    rollout: RolloutPolicy = RolloutPolicy()
    llm: LLMPolicy = LLMPolicy()
    retirement: RetirementPolicy = RetirementPolicy()
    retention: RetentionPolicy = RetentionPolicy()
    alerts: AlertsPolicy = AlertsPolicy()
    monitoring: MonitoringPolicy = MonitoringPolicy()
