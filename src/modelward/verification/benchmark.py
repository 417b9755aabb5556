"""``modelward benchmark``: load a running server with one model's rows and record the
throughput and latency of each scenario as a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.serving.loadgen import run_load
from modelward.timeutil import parse_duration
from modelward.verification.live import rows_of, synthetic_rows

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["SCENARIOS", "benchmark"]

SCENARIOS = ("single", "batch", "concurrent")


def _scenarios(text: str) -> list[str]:
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in wanted if s not in SCENARIOS]
    if bad or not wanted:
        raise ConfigError(
            f"unknown scenario {bad[0] if bad else text!r}; use any of {', '.join(SCENARIOS)}",
            field="scenarios",
        )
    return wanted


def benchmark(
    ws: Workspace,
    name: str,
    *,
    url: str = "http://127.0.0.1:8000",
    scenarios: str = "single,batch,concurrent",
    duration: str = "20s",
    environment: str = "production",
    data: pd.DataFrame | None = None,
    batch_size: int = 100,
    connections: int = 16,
    token: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Throughput and p50/p95/p99 latency per scenario (``single``: one row per request,
    ``batch``: ``batch_size`` rows, ``concurrent``: one row over ``connections``), from
    ``data``'s rows or rows made up from the deployed version's input schema."""
    wanted = _scenarios(scenarios)
    seconds = parse_duration(duration, what="--duration").total_seconds()
    if seconds <= 0:
        raise ConfigError("--duration must be more than 0s, e.g. 20s", field="duration")
    deployed = ws.deployments.get(name, environment).primary
    schema = ws.registry.get_version(name, deployed).input_schema
    rows = rows_of(data, schema) if data is not None else synthetic_rows(schema)
    batch = (rows * (batch_size // len(rows) + 1))[:batch_size]
    headers = {"X-Modelward-Environment": environment}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoint = f"{url.rstrip('/')}/v1/models/{name}/predict"
    plans = {
        "single": ({"inputs": rows[0]}, 1, 1),
        "batch": ({"inputs": batch}, 1, batch_size),
        "concurrent": ({"inputs": rows[0]}, connections, 1),
    }
    results = {}
    for scenario in wanted:
        body, conns, per = plans[scenario]
        try:
            outcome = run_load(endpoint, body, connections=conns, seconds=seconds, headers=headers)
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the server at {url} ({exc.strerror or exc}); start it with "
                "`modelward serve` or pass --url",
                field="url",
            ) from exc
        results[scenario] = {"connections": conns, **outcome.summary(per)}
    inputs = {"url": url, "environment": environment, "duration_s": seconds}
    ws.registry.record_run(
        "benchmark", model=name, version=None, inputs=inputs, results=results, verdict="info"
    )
    return results
