"""The policy: every threshold and weight the runbooks name, validated on load.

The shipped defaults are the runbooks' numbers. Each section is its own small model with
``extra="forbid"``, so a typo in ``policy.yml`` is an error naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from modelward.policy.merge import (
    deep_merge,
    refuse_workspace_wide,
    section_error,
)
from modelward.timeutil import parse_duration

__all__ = [
    "AlertSink",
    "AlertsPolicy",
    "BiasPolicy",
    "DataPolicy",
    "DriftPolicy",
    "LLMPolicy",
    "LatencyPolicy",
    "LifecyclePolicy",
    "Limit",
    "MonitoringPolicy",
    "MulticlassThresholds",
    "Policy",
    "RegressionThresholds",
    "RetentionPolicy",
    "RetirementPolicy",
    "RobustnessPolicy",
    "RolloutPolicy",
    "RolloutStage",
    "SPARK_MASTER",
    "ServingPolicy",
    "ThresholdsPolicy",
]


#: A Spark master URL: ``local``, ``local[N]``/``local[*]``, ``spark://host:port`` (a
#: standalone cluster, several masters by commas), ``yarn``, ``k8s://http(s)://host:port``;
#: nothing else (no spaces, quotes or control characters reach the JVM).
SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9][0-9]{0,3})\])?|yarn"
    r"|spark://[A-Za-z0-9.\-]+:[0-9]{1,5}(,[A-Za-z0-9.\-]+:[0-9]{1,5})*"
    r"|k8s://https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?"
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Fraction = float


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a fraction between 0 and 1, got {value}")
    return value


class MulticlassThresholds(_Section):
    """Minimums for multiclass classifiers; the macro averages weigh every class alike."""

    accuracy: Fraction = 0.80
    balanced_accuracy: Fraction = 0.75
    f1_macro: Fraction = 0.70
    precision_macro: Fraction = 0.70
    recall_macro: Fraction = 0.70

    _check = field_validator(
        "accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro"
    )(_fraction)


class RegressionThresholds(_Section):
    """Limits for regressors: R² at least ``r2_min``; each error at most its ``*_max`` (MAE
    and RMSE in the target's units, MAPE as a fraction: 0.1 is 10 %). ``null``: not checked."""

    r2_min: float | None = Field(default=0.5, le=1)
    mae_max: float | None = Field(default=None, ge=0)
    rmse_max: float | None = Field(default=None, ge=0)
    mape_max: float | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class Limit:
    """One performance threshold: ``metric`` must be ``>=`` (or ``<=``) ``value``."""

    metric: str
    op: Literal[">=", "<="]
    value: float

    def passes(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured <= self.value


#: the tasks whose models have no performance thresholds in this section
_NO_THRESHOLDS = ("text-generation",)


class ThresholdsPolicy(_Section):
    """Performance gates by task (runbook: daily metric checks). The top-level metrics are
    the binary classifiers' minimums; ``multiclass`` and ``regression`` hold the others."""

    accuracy: Fraction = 0.80
    roc_auc: Fraction = 0.85
    f1: Fraction = 0.75
    precision: Fraction = 0.80
    recall: Fraction = 0.75
    use_lower_ci: bool = False
    min_labels: int = Field(default=30, ge=1)
    multiclass: MulticlassThresholds = MulticlassThresholds()
    regression: RegressionThresholds = RegressionThresholds()

    _check = field_validator("accuracy", "roc_auc", "f1", "precision", "recall")(_fraction)

    def as_dict(self) -> dict[str, float]:
        """The binary classifiers' minimums (``for_task("binary-classification")``)."""
        return {
            "accuracy": self.accuracy,
            "roc_auc": self.roc_auc,
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
        }

    def for_task(self, task: str) -> dict[str, float]:
        """The thresholds of ``task`` as the policy spells them: binary and multiclass map
        a metric to its minimum; regression maps ``r2_min``, ``mae_max``, … (unset limits
        left out). :meth:`limits` gives the same with metric names and directions."""
        if task == "binary-classification":
            return self.as_dict()
        if task == "multiclass-classification":
            return dict(self.multiclass.model_dump())
        if task == "regression":
            return {k: v for k, v in self.regression.model_dump().items() if v is not None}
        if task in _NO_THRESHOLDS:
            return {}
        raise ValueError(f"unknown task {task!r}")

    def limits(self, task: str) -> list[Limit]:
        """The thresholds of ``task`` as metric, direction, value: ``r2_min`` becomes
        ``Limit("r2", ">=", …)``, ``mae_max`` ``Limit("mae", "<=", …)``."""
        out = []
        for key, value in self.for_task(task).items():
            if key.endswith("_max"):
                out.append(Limit(key.removesuffix("_max"), "<=", value))
            else:
                out.append(Limit(key.removesuffix("_min"), ">=", value))
        return out


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
    methods: dict[str, Literal["ks", "chi2", "ztest", "psi", "wasserstein", "jensenshannon"]] = {}

    _check = field_validator(
        "max_drifted_share", "prediction_threshold", "p_value", "distance_threshold"
    )(_fraction)


class BiasPolicy(_Section):
    """Fairness over protected attributes (Fairlearn's definitions)."""

    #: a bias check that cannot run (no protected column in the data) fails the gate
    required: bool = True
    #: the columns fairness is judged over (none by default: name your data's own)
    protected: list[str] = []
    #: the cut points of a numeric protected column without its own entry in ``bands``
    age_bands: list[float] = [40, 55, 65]
    #: cut points per numeric protected column
    bands: dict[str, list[float]] = {}
    max_demographic_parity_difference: Fraction = 0.20
    max_equalized_odds_difference: Fraction = 0.20
    #: multiclass: the largest gap in accuracy between two groups
    max_accuracy_difference: Fraction = 0.10
    #: regression: the worst group's MAE over the best group's
    max_mae_ratio: float = Field(default=1.5, ge=1)
    min_group_size: int = Field(default=10, ge=1)

    _check = field_validator(
        "max_demographic_parity_difference",
        "max_equalized_odds_difference",
        "max_accuracy_difference",
    )(_fraction)

    def bands_for(self, column: str) -> list[float]:
        """The cut points of the numeric protected ``column``."""
        return self.bands.get(column, self.age_bands)


class RobustnessPolicy(_Section):
    noise_std: float = Field(default=0.1, ge=0)
    missing_rate: Fraction = 0.05
    max_accuracy_drop: Fraction = 0.05
    max_flip_rate: Fraction = 0.10
    #: regression: a prediction "moved" when it changes by more than this many standard
    #: deviations of the target
    move_tolerance: float = Field(default=0.10, gt=0)
    #: regression: the largest rise of the MAE under a perturbation, as a share of it
    max_error_increase: float = Field(default=0.10, ge=0)
    #: regression: the largest share of moved predictions (default: max_flip_rate)
    max_moved_share: Fraction | None = None

    _check = field_validator(
        "missing_rate", "max_accuracy_drop", "max_flip_rate", "max_moved_share"
    )(lambda value: value if value is None else _fraction(value))


class LatencyPolicy(_Section):
    p95_ms: float = Field(default=100.0, gt=0)
    p99_ms: float = Field(default=250.0, gt=0)


class ServingPolicy(_Section):
    latency: LatencyPolicy = LatencyPolicy()
    #: The log writer publishes a write-ahead segment as Parquet once it holds this many
    #: rows or is this old (predlog.writer ROLL_ROWS / ROLL_MS); checks read the rows not
    #: yet published from the segments, so these only set how many files a day makes.
    flush_rows: int = Field(default=100_000, ge=1)
    flush_ms: int = Field(default=600_000, ge=1)
    #: The most the write-ahead folder may hold (MB): while log storage is down rows wait
    #: there; from 80 % a warning (log line, /metrics, /readyz), at the bound 503s, so a
    #: long outage never fills the disk under the server. 10 GB: ~20 M rows.
    wal_max_mb: int = Field(default=10_240, ge=1, le=16 * 2**20)
    #: A request whose model gives no answer within this many seconds gets a 504.
    predict_timeout_s: float = Field(default=30.0, gt=0)
    #: A connection whose request headers are not complete within this many seconds (of
    #: opening, or of the request's first byte) is closed: slow-loris and idle clients.
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    #: A keep-alive connection idle this many seconds after a response is closed.
    keep_alive_s: float = Field(default=5.0, gt=0, le=3600)
    #: Open connections per server process; beyond, requests are answered 503.
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)
    #: How often a server re-reads the deployments and tokens from the metadata database:
    #: a deployment change or a token revocation made on any host reaches every replica
    #: within this delay (plus the time to load a newly deployed version's model).
    follow_ms: int = Field(default=500, ge=50, le=60_000)


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
    #: the p95 ratio against stable counts only when the canary is also this much slower:
    #: a few ms of jitter (or cache hits) must not make 7 ms vs 16 ms a "2x" rollback
    latency_min_gap_ms: float = Field(default=100.0, ge=0)
    #: an endpoint canary's p95 response time limit (runbook: 15 s)
    max_p95_latency_ms: float = Field(default=15000.0, gt=0)
    #: users' mean satisfaction (ratings 1/0/-1 -> 1/0.5/0) an endpoint must keep
    min_satisfaction: Fraction = 0.60
    #: score canary answers to this dataset's prompts against its expected answers
    online_evaluation_dataset: str | None = None
    online_evaluation_sample: float = Field(default=1.0, gt=0, le=1)

    _check = field_validator(
        "quota_warning", "quota_critical", "max_error_rate", "min_satisfaction"
    )(_fraction)


class RetirementPolicy(_Section):
    """Retirement criteria (runbooks, section 5.2), read by ``lifecycle review``. Accuracy,
    error rate and the newer-version comparisons apply to both kinds of model; latency and
    cost have their own limits for endpoint models (LLM runbook: 15 s, 0.15 a query)."""

    min_accuracy: Fraction = 0.80
    max_p95_latency_ms: float = Field(default=500.0, gt=0)
    max_cost_per_query: float = Field(default=0.10, ge=0)
    max_error_rate: Fraction = 0.10
    better_by: float = Field(default=0.20, ge=0)
    cheaper_by: Fraction = 0.30
    #: endpoint models: p95 response time in seconds, and cost per query
    endpoint_max_p95_s: float = Field(default=15.0, gt=0)
    endpoint_max_cost_per_query: float = Field(default=0.15, ge=0)

    _check = field_validator("min_accuracy", "max_error_rate", "cheaper_by")(_fraction)


class LifecyclePolicy(_Section):
    """The lifecycle's human criteria (runbooks, section 5.1): approvals before production,
    the deprecation notice, and migration before retirement."""

    #: approvals by distinct people (``modelward approve``) a version needs to enter
    #: production; 0: none
    approvals_required: int = Field(default=0, ge=0)
    #: a deprecation notice names the clients that used the version in this many days
    notice_days: int = Field(default=30, ge=1)
    #: a version is retired only after this many days without a prediction
    migration_days: int = Field(default=30, ge=0)


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
    #: what reads the prediction log for the checks: DuckDB in process, or Spark
    engine: Literal["duckdb", "spark"] = "duckdb"
    #: Spark's master URL for ``engine: spark`` (None: every core of this machine)
    spark_master: str | None = None

    @field_validator("spark_master")
    @classmethod
    def _spark_master(cls, value: str | None) -> str | None:
        if value is not None and not SPARK_MASTER.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Spark master URL; use local[N], local[*], "
                "spark://HOST:PORT, yarn or k8s://https://HOST:PORT"
            )
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value, what="monitoring.window")
        return value


class Policy(_Section):
    """The whole policy file. ``Policy()`` is the runbooks' defaults.

    ``models`` holds per-model sections, each overriding any key of the file (but the
    ``WORKSPACE_WIDE`` ones of :mod:`modelward.policy.merge`) by a deep merge;
    :meth:`for_model` is a model's effective policy.
    """

    version: Literal[1] = 1
    #: the label that counts as positive for binary classifiers (None: the version's own)
    positive_class: str | None = None
    thresholds: ThresholdsPolicy = ThresholdsPolicy()
    data: DataPolicy = DataPolicy()
    drift: DriftPolicy = DriftPolicy()
    bias: BiasPolicy = BiasPolicy()
    robustness: RobustnessPolicy = RobustnessPolicy()
    serving: ServingPolicy = ServingPolicy()
    rollout: RolloutPolicy = RolloutPolicy()
    llm: LLMPolicy = LLMPolicy()
    retirement: RetirementPolicy = RetirementPolicy()
    lifecycle: LifecyclePolicy = LifecyclePolicy()
    retention: RetentionPolicy = RetentionPolicy()
    alerts: AlertsPolicy = AlertsPolicy()
    monitoring: MonitoringPolicy = MonitoringPolicy()
    models: dict[str, dict[str, Any]] = {}

    @model_validator(mode="after")
    def _sections(self) -> Policy:
        for name in self.models:
            self.for_model(name)  # every section makes a valid policy
        return self

    def for_model(self, name: str) -> Policy:
        """The effective policy of model ``name``: this one, with its ``models`` section
        merged in (mappings key by key, any other value replaced). Raises
        :class:`SectionError` naming the key path of a bad section."""
        section = self.models.get(name)
        if not section:
            return self.model_copy(update={"models": {}})
        refuse_workspace_wide(name, section)
        merged = deep_merge(self.model_dump(exclude={"models"}), section)
        try:
            return Policy.model_validate(merged)
        except ValidationError as exc:
            raise section_error(name, exc) from exc
