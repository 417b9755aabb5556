"""The resources check: CPU, memory, workspace disk, GPU when ``nvidia-smi`` is present,
and the server's own figures from its Prometheus ``/metrics`` endpoint."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.result import CheckResult, verdict_of

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["gpu_usage", "resources_check", "scrape"]

#: Server figures picked from /metrics (summed over labels) when present.
SERVER_FIGURES = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
)


def gpu_usage() -> list[dict[str, float]]:
    """Utilization and memory per GPU via nvidia-smi; empty when there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        done = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=utilization.gpu,memory.used,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for line in done.stdout.strip().splitlines():
        try:
            util, used, total = (float(x) for x in line.split(","))
        except ValueError:
            continue
        out.append(
            {
                "utilization": util / 100,
                "memory_used_mb": used,
                "memory_total_mb": total,
                "memory_share": used / total if total else 0.0,
            }
        )
    return out


def scrape(url: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """The server's ``/metrics``: totals per metric family (samples summed over labels)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    target = url.rstrip("/")
    if not target.endswith("/metrics"):
        target += "/metrics"
    try:
        response = httpx.get(target, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach {target} ({type(exc).__name__}); check --url and that the server runs",
            field="url",
        ) from exc
    if response.status_code != 200:
        raise ConfigError(
            f"{target} answered HTTP {response.status_code}; check --url", field="url"
        )
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                totals[sample.name] = totals.get(sample.name, 0.0) + float(sample.value)
    except ValueError as exc:
        raise ConfigError(f"{target} is not Prometheus text; check --url", field="url") from exc
    return totals


def resources_check(
    monitor: Monitor | None,
    *,
    url: str | None = None,
    alert_threshold: float = 0.9,
    record: bool = True,
) -> CheckResult:
    import psutil

    if not 0 < alert_threshold <= 1:
        raise ConfigError(
            f"--alert-threshold {alert_threshold} must be a fraction between 0 and 1, e.g. 0.9",
            field="alert_threshold",
        )
    root = str(monitor.ws.root) if monitor is not None else "."
    usage = {
        "cpu": psutil.cpu_percent(interval=0.2) / 100,
        "memory": psutil.virtual_memory().percent / 100,
        "disk": psutil.disk_usage(root).percent / 100,
    }
    results: dict[str, Any] = {
        **usage,
        "memory_available_mb": psutil.virtual_memory().available / 2**20,
        "disk_free_mb": psutil.disk_usage(root).free / 2**20,
        "gpus": gpu_usage(),
    }
    breaches = []
    keys = []
    for what, share in usage.items():
        if share > alert_threshold:
            breaches.append(f"{what} at {share:.0%} > {alert_threshold:.0%}")
            keys.append(what)
    for i, gpu in enumerate(results["gpus"]):
        for what in ("utilization", "memory_share"):
            if gpu[what] > alert_threshold:
                breaches.append(f"gpu{i} {what} at {gpu[what]:.0%} > {alert_threshold:.0%}")
                keys.append(f"gpu{i}:{what}")
    if url:
        figures = scrape(url)
        results["server"] = {
            "url": url,
            **{k: figures[k] for k in SERVER_FIGURES if k in figures},
            "metrics": figures,
        }
    result = CheckResult(
        check="resources",
        model=None,
        verdict=verdict_of(breaches, False),
        inputs={"url": url, "alert_threshold": alert_threshold, "workspace": root},
        results=results,
        breaches=breaches,
        keys=keys,
        level="critical" if any(usage[k] >= 0.98 for k in usage) else "warning",
    )
    return monitor.finish(result, record=record) if monitor is not None else result
