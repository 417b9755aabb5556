"""``train``: config -> seeded split -> (Optuna search) -> CV -> fit -> held-out metrics ->
registered version in development with params, metrics, fingerprint and reference profile."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data import fingerprint, read_data, split_target
from modelward.data.profile import profile_frame
from modelward.errors import ConfigError, DataError, first_line
from modelward.evaluation.metrics import BinaryData, bootstrap_metrics
from modelward.evaluation.multiclass import ClassData, multiclass_summary
from modelward.evaluation.regression import RegressionData, regression_summary
from modelward.progress import NO_PROGRESS, Progress
from modelward.registry.names import check_model_name
from modelward.training.config import TrainingConfig, load_config
from modelward.training.pipeline import build_pipeline
from modelward.training.tasks import (
    BINARY,
    CV_SCORERS,
    REGRESSION,
    ScoringFailed,
    cv_splitter,
    metric_scorer,
    resolve_task,
    scorer_name,
    scorers,
    task_metrics,
)
from modelward.validation import validate_version
from modelward.workspace.registration import provenance

if TYPE_CHECKING:
    import pandas as pd

    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["CV_SCORERS", "TrainResult", "prepare_data", "train_model"]


@dataclass
class TrainResult:
    version: VersionInfo
    metrics: dict[str, Any]
    params: dict[str, Any]
    tuning: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    held_out: Any = field(default=None, repr=False)  # the test split (features + target)
    task: str = BINARY


def prepare_data(
    config: TrainingConfig, frame: pd.DataFrame, task: str | None = None
) -> pd.DataFrame:
    """The feature and target columns, checked: present, typed as declared, labelled (a
    regression target numeric; a classifier's classes at least two, each with a row per
    fold). ``task`` is the one ``train`` resolved (``None``: checked as a classifier)."""
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
    if task == REGRESSION:
        target = labelled[config.target]
        if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            raise DataError(
                f"the target {config.target!r} of a regression holds text such as "
                f"{target.iloc[0]!r}; pick a numeric target or a classifier",
                field="target",
            )
        if len(labelled) < config.cv.folds:
            raise DataError(
                f"{len(labelled)} labelled rows, fewer than cv.folds={config.cv.folds}; "
                "lower cv.folds or add data",
                field="cv.folds",
            )
        return labelled
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


def _cv(
    config: TrainingConfig, task: str, positive: Any, pipeline: Any, x: Any, y: Any
) -> dict[str, Any]:
    """Every metric of the task over ``cv.folds`` folds (stratified for a classifier)."""
    import warnings

    from sklearn.model_selection import cross_validate

    folds = cv_splitter(task, config.cv.folds, config.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failure is raised below, as one line
        try:
            scores = cross_validate(
                pipeline,
                x,
                y,
                cv=folds,
                scoring=scorers(task, pipeline, positive),
                n_jobs=1,
                error_score="raise",
            )
        except ScoringFailed as exc:
            raise DataError(str(exc), field="cv") from exc
        except (ValueError, TypeError) as exc:
            first = first_line(exc)
            raise DataError(
                f"cross-validation could not fit {config.estimator.class_}: {first}",
                field="cv",
            ) from exc
    metric, _ = scorer_name(task, config.cv.metric, "cv.metric")
    out: dict[str, Any] = {"folds": config.cv.folds, "metric": metric}
    for name in task_metrics(task, pipeline):
        values = scores[f"test_{name}"]
        if CV_SCORERS[task][name].startswith("neg_"):
            values = -values
        out[name] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
    return out


def _tune(
    config: TrainingConfig,
    task: str,
    positive: Any,
    trials: int,
    x: Any,
    y: Any,
    progress: Progress,
) -> dict[str, Any]:
    import optuna
    from sklearn.model_selection import cross_val_score

    if config.tune is None:
        raise ConfigError(
            "--tune needs a search space: add tune: {space: {PARAM: {type: float, low: …, "
            "high: …}}} to the config"
        )
    space = config.tune.space
    metric, sklearn_name = scorer_name(task, config.tune.metric, "tune.metric")
    scorer = metric_scorer(task, metric, positive)
    folds = cv_splitter(task, config.cv.folds, config.seed)
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
        try:
            found = cross_val_score(
                pipeline, x, y, cv=folds, scoring=scorer, n_jobs=1, error_score="raise"
            )
        except ScoringFailed as exc:
            raise DataError(str(exc), field="tune.metric") from exc
        return float(found.mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    with progress.task(f"tuning ({trials} trials)", total=trials) as advance:
        study.optimize(objective, n_trials=trials, callbacks=[lambda s, t: advance()])
    return {
        "trials": trials,
        "metric": metric,
        "scorer": sklearn_name,
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
        split_target(
            frame,
            config.target,
            source=f"the data {config.data}",
            fix="set `target:` in the config to one of them",
        )
        labels = frame[config.target].dropna()
        task = resolve_task(config, build_pipeline(config).named_steps["model"], labels)
        data = prepare_data(config, frame, task)
        advance()
    x, y = data[config.features.all], data[config.target]
    positive = _positive(config, task, y)
    scorer_name(task, config.cv.metric, "cv.metric")  # a metric of another task: fail now
    if tune and config.tune is not None:
        scorer_name(task, config.tune.metric, "tune.metric")
    stratify = task != REGRESSION and config.split.stratify
    x_train, x_test, y_train, y_test = train_test_split(
        x,
        y,
        test_size=config.split.test_size,
        stratify=y if stratify else None,
        random_state=config.seed,
    )
    tuning = None
    overrides: dict[str, Any] = {}
    if tune:
        tuning = _tune(config, task, positive, tune, x_train, y_train, progress)
        overrides = tuning["best_params"]
    pipeline = build_pipeline(config, overrides)
    with progress.task(f"cross-validation ({config.cv.folds} folds)", total=1) as advance:
        cv = _cv(config, task, positive, pipeline, x_train, y_train)
        advance()
    with progress.task("fitting", total=1) as advance:
        pipeline.fit(x_train, y_train)
        advance()
    test_ci, held_rows = _held_out_metrics(pipeline, task, positive, x_test, y_test, config.seed)
    metrics = {
        "test": {name: m["value"] for name, m in test_ci.items()},
        "test_ci": {name: [m["low"], m["high"]] for name, m in test_ci.items()},
        "test_rows": held_rows,
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
        "split.stratify": stratify,
        "task": task,
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
            tags={
                **config.tags,
                "target": config.target,
                "trained_by": "modelward train",
                **({"positive_class": str(positive)} if task == BINARY else {}),
            },
            task=task,
            description=config.description,
            source=source,
            reference_profile=profile_frame(train_frame, target=config.target, seed=config.seed),
            accepts_missing=imputed_features(config),
        )
        advance()
    held_out = x_test.assign(**{config.target: y_test}).reset_index(drop=True)
    result = TrainResult(version, metrics, params, tuning, held_out=held_out, task=task)
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


def _positive(config: TrainingConfig, task: str, y: Any) -> Any:
    """A binary classifier's positive class: ``positive_class:``, else the second of the
    sorted labels (scikit-learn's convention)."""
    if task != BINARY:
        if config.positive_class is not None:
            raise ConfigError(
                f"positive_class: {config.positive_class!r} is for binary classifiers; this "
                f"is a {task}: drop it",
                field="positive_class",
            )
        return None
    labels = sorted(y.unique().tolist())
    if config.positive_class is None:
        return labels[1]
    match = [v for v in labels if str(v) == str(config.positive_class)]
    if not match:
        raise ConfigError(
            f"positive_class: {config.positive_class!r} is not among the labels "
            f"{', '.join(map(str, labels))} of {config.target!r}; pick one of them",
            field="positive_class",
        )
    return match[0]


def _held_out_metrics(
    pipeline: Any, task: str, positive: Any, x: Any, y: Any, seed: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """The task's metrics on the held-out split, with 95 % bootstrap intervals."""
    import numpy as np

    predicted = pipeline.predict(x)
    if task == REGRESSION:
        data = RegressionData.of(y.to_numpy(), predicted)
        return regression_summary(data, resamples=1000, seed=seed)["metrics"], data.n
    classes = list(pipeline.classes_)
    proba = pipeline.predict_proba(x) if hasattr(pipeline, "predict_proba") else None
    if task == BINARY:
        held = BinaryData.of(
            (y == positive).to_numpy(),
            np.asarray(predicted) == positive,
            None if proba is None else proba[:, classes.index(positive)],
        )
        return bootstrap_metrics(held, seed=seed), held.n
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index.get(v, -1) for v in y])
    if (codes < 0).any():
        unseen = sorted({str(v) for v in y if v not in index})
        raise DataError(
            f"the held-out split holds class(es) {', '.join(unseen)} the training split "
            "lacks; add rows of that class or lower split.test_size",
            field="split",
        )
    coded = ClassData(classes, codes, np.array([index[v] for v in predicted]), proba)
    return multiclass_summary(coded, resamples=1000, seed=seed)["metrics"], coded.n


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
