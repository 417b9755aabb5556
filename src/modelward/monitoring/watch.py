"""``monitor watch``: the configured checks in a loop (every check also runs one-shot from
cron: ``modelward monitor metrics heart --last 1h``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelward.errors import ConfigError
from modelward.monitoring.checks import CHECKS, Resources
from modelward.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["WATCHABLE", "watch"]

#: every check but the review (which lists rather than judges)
WATCHABLE = ("metrics", "predictions", "quality", "drift", "degradation", "resources")


def watch(
    monitor: Monitor,
    name: str | None,
    *,
    every: str = "5m",
    checks: list[str] | None = None,
    last: str | None = None,
    max_runs: int | None = None,
    environment: str | None = "production",
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Run until stopped (Ctrl-C) or ``max_runs`` rounds; returns the last round's failures."""
    policy = (monitor.ws.policy if name is None else monitor.ws.policy_for(name)).monitoring
    pause = parse_duration(every, what="--every").total_seconds()
    if pause <= 0:
        raise ConfigError("--every must be longer than zero, e.g. 5m", field="every")
    wanted = checks or list(policy.watch_checks)
    unknown = [c for c in wanted if c not in WATCHABLE]
    if unknown:
        raise ConfigError(
            f"cannot watch {', '.join(unknown)}; choose from {', '.join(WATCHABLE)}",
            field="checks",
        )
    window = last or policy.window
    parse_duration(window, what="--last")
    if name is not None:
        monitor.model(name)
        names = [name]
    else:
        logged = set(monitor.log.models())
        names = [m.name for m in monitor.ws.catalog.list_models() if m.name in logged]
    rounds = 0
    failed: list[str] = []
    try:
        while True:
            failed = []
            for model in names:
                for check in wanted:
                    if check == "resources":
                        result = monitor.run(Resources())
                    else:
                        result = monitor.run(
                            CHECKS[check](), model, last=window, environment=environment
                        )
                    line = f"{utcnow():%Y-%m-%d %H:%M:%S} {result.summary()}"
                    echo(line)
                    if result.failed:
                        failed.append(result.summary())
            rounds += 1
            if max_runs is not None and rounds >= max_runs:
                break
            sleep(pause)
    except KeyboardInterrupt:
        echo("stopped")
    return failed
