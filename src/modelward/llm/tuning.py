"""``modelward llm tune``: search parameter settings of one endpoint on a dataset.

Grid search (every combination) or Optuna's TPE sampler (``--trials N``). A setting's
objective is its accuracy on the dataset; ties go to the cheaper, then the faster one.
The best setting becomes a new version of the model (unless it equals the current one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.endpoints import PARAMS, check_params
from modelward.llm.evaluate import evaluate
from modelward.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from modelward.llm.types import Item
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["DEFAULT_GRID", "Tuning", "parse_grid", "tune"]

DEFAULT_GRID: dict[str, list[Any]] = {
    "temperature": [0.0, 0.3, 0.7, 1.0],
    "top_p": [0.5, 0.9, 1.0],
    "max_tokens": [64, 256, 1024],
    "top_k": [10, 40, 100],
    "presence_penalty": [0.0, 0.5],
    "frequency_penalty": [0.0, 0.5],
}


@dataclass
class Tuning:
    trials: list[dict[str, Any]]
    best: dict[str, Any]
    version: VersionInfo | None
    run_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "best": self.best,
            "run_id": self.run_id,
            "new_version": self.version.ref if self.version else None,
        }


def parse_grid(names: str, grid: list[str] | None = None) -> dict[str, list[Any]]:
    """``temperature,max_tokens`` (+ ``--grid temperature=0,0.5``) -> checked value lists."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise ConfigError("--params needs parameter names, e.g. temperature,top_p", field="params")
    overrides: dict[str, list[str]] = {}
    for entry in grid or []:
        key, sep, values = entry.partition("=")
        if not sep or not values.strip():
            raise ConfigError(
                f"--grid {entry!r} is not name=v1,v2; write e.g. --grid temperature=0,0.5",
                field="grid",
            )
        overrides[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    out: dict[str, list[Any]] = {}
    for name in wanted:
        if name not in PARAMS:
            raise ConfigError(
                f"unknown parameter {name!r}; use one of {', '.join(sorted(DEFAULT_GRID))}",
                field="params",
            )
        raw = overrides.pop(name, None) or DEFAULT_GRID.get(name)
        if not raw:
            raise ConfigError(
                f"{name} has no default grid; give values with --grid {name}=...", field="grid"
            )
        out[name] = [check_params({name: v})[name] for v in raw]
    if overrides:
        extra = sorted(overrides)[0]
        raise ConfigError(
            f"--grid {extra}=... names a parameter missing from --params; add it", field="grid"
        )
    return out


def _key(trial: dict[str, Any]) -> tuple[float, float, float]:
    return (-(trial["accuracy"] or 0.0), trial["cost"] or 0.0, trial["response_time"] or 0.0)


def tune(
    ws: Workspace,
    ref: str,
    items: list[Item],
    grid: dict[str, list[Any]],
    *,
    trials: int | None = None,
    concurrency: int = 4,
    dataset: str = "",
    register: bool = True,
    progress: Progress = NO_PROGRESS,
) -> Tuning:
    endpoint = ws.llm.resolve(ref)
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}", field="trials")

    def run(setting: dict[str, Any]) -> dict[str, Any]:
        params = {**endpoint.params, **setting}
        (evaluation,) = evaluate(
            ws,
            [ref],
            items,
            concurrency=concurrency,
            params=params,
            record=False,
            progress=progress,
        )
        m = evaluation.metrics
        return {
            "params": params,
            "accuracy": m["accuracy"]["value"],
            "response_time": m["response_time"]["mean"]["value"],
            "cost": m["cost"]["per_query"]["value"],
            "verdict": evaluation.verdict,
        }

    results: list[dict[str, Any]] = []
    if trials is None:
        names = list(grid)
        for combo in itertools.product(*(grid[n] for n in names)):
            results.append(run(dict(zip(names, combo, strict=True))))
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=0)
        )

        def objective(trial: Any) -> float:
            setting = {n: trial.suggest_categorical(n, values) for n, values in grid.items()}
            result = run(setting)
            results.append(result)
            return float(result["accuracy"] or 0.0)

        study.optimize(objective, n_trials=trials)
    best = min(results, key=_key)
    version = None
    if register and best["params"] != endpoint.params:
        version = ws.llm.register(
            str(endpoint.name),
            provider=endpoint.provider,
            model=endpoint.model,
            params=best["params"],
            template=endpoint.prompt_template,
            tags={"tuned_from": endpoint.ref},
            description=f"tuned from {endpoint.ref} on {dataset or 'a dataset'}",
        )
    run_record = ws.registry.record_run(
        "llm-tuning",
        model=endpoint.name,
        version=endpoint.version,
        inputs={"dataset": dataset, "grid": grid, "trials": trials},
        results={
            "trials": results,
            "best": best,
            "new_version": version.version if version else None,
        },
        verdict="info",
    )
    return Tuning(results, best, version, run_record.id)
