"""The resources check: CPU, memory, workspace disk, GPU when ``nvidia-smi`` is present,
and the server's own figures from its Prometheus ``/metrics`` endpoint. It needs no
model and no log."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.errors import ConfigError
from modelward.monitoring.checks.base import Check
from modelward.monitoring.result import CheckResult, Findings, given, optional

if TYPE_CHECKING:
    from modelward.monitoring.context import Context

__all__ = ["Gpu", "Resources", "ResourcesResult", "gpu_usage", "scrape"]

#: Server figures picked from /metrics (summed over labels) when present.
SERVER_FIGURES = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
)


@dataclass
class Gpu:
    utilization: float
    memory_used_mb: float
    memory_total_mb: float
    memory_share: float


@dataclass(kw_only=True)
class ResourcesResult(CheckResult):
    check: ClassVar[str] = "resources"
    url: str | None = given()
    alert_threshold: float = given()
    workspace: str = given()
    cpu: float = 0.0
    memory: float = 0.0
    disk: float = 0.0
    memory_available_mb: float = 0.0
    disk_free_mb: float = 0.0
    gpus: list[Gpu] = field(default_factory=list)
    #: the server's figures: SERVER_FIGURES, ``url`` and every family as ``metrics``
    server: dict[str, Any] | None = optional()


@dataclass
class Resources(Check[ResourcesResult]):
    """CPU, memory, workspace disk, GPU if present, and the server's /metrics figures."""

    name: ClassVar[str] = "resources"
    last: ClassVar[str | None] = None
    url: str | None = None
    alert_threshold: float = 0.9

    def run(self, context: Context) -> ResourcesResult:
        import psutil

        if not 0 < self.alert_threshold <= 1:
            raise ConfigError(
                f"--alert-threshold {self.alert_threshold} must be a fraction between 0 and 1, "
                "e.g. 0.9",
                field="alert_threshold",
            )
        root = str(context.ws.root)
        memory, disk = psutil.virtual_memory(), psutil.disk_usage(root)
        usage = {
            "cpu": psutil.cpu_percent(interval=0.2) / 100,
            "memory": memory.percent / 100,
            "disk": disk.percent / 100,
        }
        gpus = gpu_usage()
        findings = Findings(critical=any(share >= 0.98 for share in usage.values()))
        for what, share in usage.items():
            if share > self.alert_threshold:
                findings.breach(f"{what} at {share:.0%} > {self.alert_threshold:.0%}", what)
        for i, gpu in enumerate(gpus):
            for what in ("utilization", "memory_share"):
                if getattr(gpu, what) > self.alert_threshold:
                    findings.breach(
                        f"gpu{i} {what} at {getattr(gpu, what):.0%} > {self.alert_threshold:.0%}",
                        f"gpu{i}:{what}",
                    )
        server = None
        if self.url:
            figures = scrape(self.url)
            server = {
                "url": self.url,
                **{k: figures[k] for k in SERVER_FIGURES if k in figures},
                "metrics": figures,
            }
        return ResourcesResult(
            model=None, **findings.outcome(), url=self.url,
            alert_threshold=self.alert_threshold, workspace=root, cpu=usage["cpu"],
            memory=usage["memory"], disk=usage["disk"],
            memory_available_mb=memory.available / 2**20, disk_free_mb=disk.free / 2**20,
            gpus=gpus, server=server,
        )  # fmt: skip


def gpu_usage() -> list[Gpu]:
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
        out.append(Gpu(util / 100, used, total, used / total if total else 0.0))
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
