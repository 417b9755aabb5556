"""What the monitoring commands share: the options of every check of a model (declared
once, by :func:`check_command`), their parsing, and printing a result."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json
from modelward.errors import CheckFailed, ConfigError

if TYPE_CHECKING:
    from modelward.monitoring import CheckResult, Monitor

__all__ = ["AllEnvs", "Env", "Name", "Until", "check_command", "emit", "environment", "split"]

monitor_app = new_typer(
    "Production monitoring: metrics, drift, data quality, degradation, review, alerts."
)

Name = Annotated[str, typer.Argument(help="Model name.")]
Until = Annotated[
    str | None,
    typer.Option("--until", help="End of the window (ISO time, UTC); default: now."),
]
Env = Annotated[str | None, typer.Option("--env", help="Environment (default: production).")]
AllEnvs = Annotated[bool, typer.Option("--all-envs", help="Every environment.")]
LAST_HELP = "Window length, e.g. 24h, 7d."
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="What reads the log: duckdb (in process) or spark; default: policy.yml's "
        "monitoring.engine.",
    ),
]
SparkMaster = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark's master URL (local[N], spark://HOST:PORT, yarn, k8s://…); "
        "implies --engine spark.",
    ),
]


def environment(env: str | None, all_envs: bool) -> str | None:
    """``--env`` / ``--all-envs``: one environment (default production), or None for all."""
    if all_envs and env is not None:
        raise ConfigError(
            f"--env {env} and --all-envs contradict each other; give one of them",
            field="environment",
        )
    return None if all_envs else modelward.check_environment(env or "production")


def split(text: str | None, option: str) -> list[str] | None:
    """A comma-separated option's parts; an option given but empty is a mistake."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise ConfigError(
            f"{option} {text!r} has an empty item; list names separated by commas, e.g. a,b",
            field=option.lstrip("-"),
        )
    return parts


def emit(result: CheckResult, as_json: bool, show: Callable[[Any], None] | None = None) -> None:
    """Print the result (JSON, or ``show``'s tables and a verdict line), then exit 1 when
    the check failed."""
    if as_json:
        print_json(result.to_dict())
    else:
        if show is not None:
            show(result)
        tail = f" (run #{result.run_id})" if result.run_id else ""
        console.print(f"{result.check} {result.model or ''}: {result.verdict}{tail}")
        for warning in result.warnings:
            console.print(f"  warning: {warning}")
    if result.failed:
        raise CheckFailed("; ".join(result.breaches) or result.verdict, result=result)


def check_command(
    name: str,
    show: Callable[[Any], None],
    *,
    last: str = "24h",
    last_help: str = LAST_HELP,
) -> Callable[[Callable[..., CheckResult]], None]:
    """Register ``monitor <name>``: the model, ``--last`` (``last`` by default),
    ``--until``, the decorated function's own options, ``--env``, ``--all-envs``,
    ``--engine``, ``--spark-master`` and ``--json``. The function takes the monitor, the
    window's options as a dict (``name``, ``last``, ``until``, ``environment``) and its
    own, and returns the result to print."""
    common = [
        _param("name", Name),
        _param("last", Annotated[str, typer.Option("--last", help=last_help)], last),
    ]
    common.append(_param("until", Until, None))
    tail = [_param("env", Env, None), _param("all_envs", AllEnvs, False)]
    tail += [_param("engine", EngineOption, None), _param("spark_master", SparkMaster, None)]
    tail.append(_param("as_json", JsonOption, False))

    def define(run: Callable[..., CheckResult]) -> None:
        own = [  # after the monitor and the window: the command's own options
            p.replace(
                annotation=eval(p.annotation, run.__globals__),  # our own source
                kind=inspect.Parameter.KEYWORD_ONLY,
            )
            for p in list(inspect.signature(run).parameters.values())[2:]
        ]

        def command(**options: Any) -> None:
            window = {key: options.pop(key) for key in ("name", "last", "until")}
            window["environment"] = environment(options.pop("env"), options.pop("all_envs"))
            as_json = options.pop("as_json")
            monitor = state().workspace().monitor
            engine, master = options.pop("engine"), options.pop("spark_master")
            if engine is not None or master is not None:
                monitor.use_engine(engine, master)
            emit(run(monitor, window, **options), as_json, show)

        command.__signature__ = inspect.Signature([*common, *own, *tail])  # type: ignore[attr-defined]
        command.__doc__ = run.__doc__
        command.__wrapped__ = run  # type: ignore[attr-defined]  # what it calls, for its @calls
        monitor_app.command(name)(calls(f"Workspace.monitor.{run.__name__}")(command))

    return define


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def monitor() -> Monitor:
    return state().workspace().monitor
