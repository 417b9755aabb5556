"""Prometheus metrics of one server process (its own registry, served at ``/metrics``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ServerMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    def __init__(
        self,
        queue_depth: Callable[[], float],
        dropped: Callable[[], float],
        quarantined: Callable[[], float] = lambda: 0,
        wal_bytes: Callable[[], float] = lambda: 0,
        wal_limit: Callable[[], float] = lambda: 0,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "modelward_requests",
            "Prediction requests by model, version and status (ok, error, rejected).",
            ["model", "version", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "modelward_request_latency_seconds",
            "Time to serve a prediction request.",
            ["model", "version"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "modelward_predictions",
            "Predicted rows by model, version and predicted class.",
            ["model", "version", "prediction"],
            registry=r,
        )
        self.flagged = Counter(
            "modelward_flagged_inputs",
            "Input values outside the training data (served, flagged).",
            ["model", "field"],
            registry=r,
        )
        self.feedback = Counter(
            "modelward_feedback", "Feedback labels accepted.", ["model"], registry=r
        )
        self.http_errors = Counter(
            "modelward_http_errors", "Error responses by code.", ["code"], registry=r
        )
        queue = Gauge(
            "modelward_log_queue_rows",
            "Prediction-log rows not yet in Parquet (waiting or stuck).",
            registry=r,
        )
        queue.set_function(queue_depth)
        dropped_gauge = Gauge(
            "modelward_log_dropped_rows",
            "Prediction-log rows dropped because the buffer was full.",
            registry=r,
        )
        dropped_gauge.set_function(dropped)
        quarantined_gauge = Gauge(
            "modelward_log_quarantined_rows",
            "Prediction-log rows Parquet cannot hold, set aside in <logs>/quarantine/.",
            registry=r,
        )
        quarantined_gauge.set_function(quarantined)
        wal_gauge = Gauge(
            "modelward_log_wal_bytes",
            "Bytes of the write-ahead folder: rows not yet published (grows while log "
            "storage is down).",
            registry=r,
        )
        wal_gauge.set_function(wal_bytes)
        limit_gauge = Gauge(
            "modelward_log_wal_limit_bytes",
            "The bound of the write-ahead folder (serving.wal_max_mb; 0: none): at 80 % "
            "the server warns, at the bound it answers 503.",
            registry=r,
        )
        limit_gauge.set_function(wal_limit)
        self.revision = Gauge(
            "modelward_deployment_revision",
            "The deployment revision this process serves.",
            ["model", "environment"],
            registry=r,
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """Cached labelled child (labels() is slow on the hot path)."""
        key = (id(metric), *labels)
        found = self._children.get(key)  # type: ignore[arg-type]
        if found is None:
            found = metric.labels(*labels)
            self._children[key] = found  # type: ignore[index]
        return found

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
