"""``train``: config -> seeded split -> (Optuna search) -> CV -> fit -> held-out metrics ->
registered version in development with params, metrics, fingerprint and reference profile."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data import fingerprint, read_data, split_target
from modelward.data.profile import profile_frame
from modelward.errors import ConfigError, DataError
from modelward.evaluation.metrics import BinaryData, bootstrap_metrics
from modelward.progress import NO_PROGRESS, Progress
from modelward.registry.names import check_model_name
from modelward.training.config import TrainingConfig, load_config
from modelward.training.pipeline import build_pipeline
from modelward.validation import validate_version
from modelward.workspace.registration import provenance

if TYPE_CHECKING:
    import pandas as pd

    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["CV_SCORERS", "TrainResult", "prepare_data", "train_model"]

#: scikit-learn scorer names used for cross-validation, and the names we store them under
CV_SCORERS = {
    "accuracy": "accuracy",
    "roc_auc": "roc_auc",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "log_loss": "neg_log_loss",
    "brier_score": "neg_brier_score",
}


@dataclass
class TrainResult:
    version: VersionInfo
    metrics: dict[str, Any]
    params: dict[str, Any]
    tuning: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    held_out: Any = field(default=None, repr=False)  # the test split (features + target)


def prepare_data(config: TrainingConfig, frame: pd.DataFrame) -> pd.DataFrame:
    """The feature and target columns, checked: present, typed as declared, labelled."""
    import pandas as pd

    split_target(
        frame,
        config.target,
        source=f"the data {config.data}",
        fix="set `target:` in the config to one of them",
    )
    missing = [c for c in config.features.all if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, frame.columns[:20]))
        raise DataError(
            f"the data has no feature column {missing[0]!r} named in the config; its columns "
            f"are {shown}",
            field="features",
        )
    for column in config.features.numeric:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            bad = series.dropna()
            sample = bad[pd.to_numeric(bad, errors="coerce").isna()].head(1).tolist()
            raise DataError(
                f"feature {column!r} is numeric in the config but holds text such as "
                f"{sample[0] if sample else bad.head(1).tolist()!r}; fix the data or list it "
                "under features.categorical",
                field="features",
            )
    out = frame[[*config.features.all, config.target]]
    labelled = out[out[config.target].notna()].reset_index(drop=True)
    classes = labelled[config.target].nunique()
    if classes < 2:
        raise DataError(
            f"the target {config.target!r} has {classes} class(es) after dropping missing "
            "labels; a classifier needs at least two",
            field="target",
        )
    smallest = int(labelled[config.target].value_counts().min())
    if smallest < config.cv.folds:
        raise DataError(
            f"the rarest class has {smallest} rows, fewer than cv.folds={config.cv.folds}; "
            "lower cv.folds or add data",
            field="cv.folds",
        )
    return labelled


def _cv(config: TrainingConfig, pipeline: Any, x: Any, y: Any) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold, cross_validate

    folds = StratifiedKFold(config.cv.folds, shuffle=True, random_state=config.seed)
    scores = cross_validate(pipeline, x, y, cv=folds, scoring=dict(CV_SCORERS), n_jobs=1)
    out: dict[str, Any] = {"folds": config.cv.folds}
    for name, scorer in CV_SCORERS.items():
        values = scores[f"test_{name}"]
        if scorer.startswith("neg_"):
            values = -values
        out[name] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
    return out


def _tune(
    config: TrainingConfig, trials: int, x: Any, y: Any, progress: Progress
) -> dict[str, Any]:
    import optuna
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if config.tune is None:
        raise ConfigError(
            "--tune needs a search space: add tune: {space: {PARAM: {type: float, low: …, "
            "high: …}}} to the config"
        )
    space = config.tune.space
    scorer = CV_SCORERS.get(config.tune.metric, config.tune.metric)
    folds = StratifiedKFold(config.cv.folds, shuffle=True, random_state=config.seed)
    build_pipeline(config, {k: (p.choices[0] if p.choices else p.low) for k, p in space.items()})

    def suggest(trial: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in space.items():
            if p.type == "categorical":
                out[name] = trial.suggest_categorical(name, p.choices)
            elif p.type == "int":
                out[name] = trial.suggest_int(name, int(p.low or 0), int(p.high or 0), log=p.log)
            else:
                out[name] = trial.suggest_float(
                    name, float(p.low or 0), float(p.high or 0), log=p.log
                )
        return out

    def objective(trial: Any) -> float:
        pipeline = build_pipeline(config, suggest(trial))
        return float(cross_val_score(pipeline, x, y, cv=folds, scoring=scorer, n_jobs=1).mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    with progress.task(f"tuning ({trials} trials)", total=trials) as advance:
        study.optimize(objective, n_trials=trials, callbacks=[lambda s, t: advance()])
    return {
        "trials": trials,
        "metric": config.tune.metric,
        "best_value": float(study.best_value),
        "best_params": dict(study.best_params),
        "history": [
            {"trial": t.number, "value": t.value, "params": dict(t.params)} for t in study.trials
        ],
    }


def train_model(
    ws: Workspace,
    config: TrainingConfig | Path | str,
    *,
    config_text: str = "",
    config_path: str | None = None,
    tune: int | None = None,
    validate: bool = False,
    progress: Progress = NO_PROGRESS,
) -> TrainResult:
    """Train from ``config`` (a :class:`TrainingConfig`, or the path of its file, whose
    text and location are then recorded with the version) and register the result."""
    from sklearn.model_selection import train_test_split

    if not isinstance(config, TrainingConfig):
        path = Path(config)
        config = load_config(path)
        config_text = path.read_text(encoding="utf-8")
        config_path = str(path.resolve())
    check_model_name(config.name)
    build_pipeline(config)  # config mistakes before any data is read
    if tune is not None and tune < 1:
        raise ConfigError(f"--tune {tune}: give the number of trials, at least 1", field="tune")
    with progress.task("reading data", total=1) as advance:
        frame = read_data(config.data_ref())
        data = prepare_data(config, frame)
        advance()
    x, y = data[config.features.all], data[config.target]
    x_train, x_test, y_train, y_test = train_test_split(
        x,
        y,
        test_size=config.split.test_size,
        stratify=y if config.split.stratify else None,
        random_state=config.seed,
    )
    tuning = None
    overrides: dict[str, Any] = {}
    if tune:
        tuning = _tune(config, tune, x_train, y_train, progress)
        overrides = tuning["best_params"]
    pipeline = build_pipeline(config, overrides)
    with progress.task(f"cross-validation ({config.cv.folds} folds)", total=1) as advance:
        cv = _cv(config, pipeline, x_train, y_train)
        advance()
    with progress.task("fitting", total=1) as advance:
        pipeline.fit(x_train, y_train)
        advance()
    classes = list(pipeline.classes_)
    positive = classes[-1]
    proba = pipeline.predict_proba(x_test)[:, classes.index(positive)]
    held = BinaryData.of(
        (y_test == positive).to_numpy(), (pipeline.predict(x_test) == positive), proba
    )
    test_ci = bootstrap_metrics(held, seed=config.seed)
    metrics = {
        "test": {name: m["value"] for name, m in test_ci.items()},
        "test_ci": {name: [m["low"], m["high"]] for name, m in test_ci.items()},
        "test_rows": held.n,
        "cv": cv,
    }
    if tuning:
        metrics["tuning"] = {k: v for k, v in tuning.items() if k != "history"}
    estimator = pipeline.named_steps["model"]
    params = {
        "estimator": config.estimator.class_,
        **{k: v for k, v in estimator.get_params().items() if _simple(v)},
        "features.numeric": list(config.features.numeric),
        "features.categorical": list(config.features.categorical),
        "preprocessing": config.preprocessing.model_dump(),
        "split.test_size": config.split.test_size,
        "split.stratify": config.split.stratify,
        "cv.folds": config.cv.folds,
        "seed": config.seed,
    }
    train_frame = x_train.assign(**{config.target: y_train}).reset_index(drop=True)
    source = provenance(None)
    source.update(
        {
            "config": config_path,
            "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
            "data": config.data,
            "data_rows": int(len(frame)),
            "data_fingerprint_full": fingerprint(frame),
            "train_rows": int(len(x_train)),
            "test_rows": int(len(x_test)),
        }
    )
    with progress.task("registering", total=1) as advance:
        version = ws.register(
            config.name,
            pipeline,
            data=train_frame,
            target=config.target,
            params=params,
            metrics=metrics,
            tags={**config.tags, "target": config.target, "trained_by": "modelward train"},
            description=config.description,
            source=source,
            reference_profile=profile_frame(train_frame, target=config.target, seed=config.seed),
            accepts_missing=imputed_features(config),
        )
        advance()
    held_out = x_test.assign(**{config.target: y_test}).reset_index(drop=True)
    result = TrainResult(version, metrics, params, tuning, held_out=held_out)
    if validate:
        report = validate_version(
            ws,
            version.model,
            version.version,
            held_out,
            data_ref=f"held-out split of {config.data}",
            target=config.target,
            progress=progress,
        )
        result.validation = report.results
    return result


def _simple(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def imputed_features(config: TrainingConfig) -> list[str]:
    """Features the pipeline imputes: a request may leave them missing."""
    prep = config.preprocessing
    imputed = []
    if prep.numeric.impute != "none":
        imputed += list(config.features.numeric)
    if prep.categorical.impute != "none":
        imputed += list(config.features.categorical)
    return imputed
