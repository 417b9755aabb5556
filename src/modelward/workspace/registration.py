"""Registering a model: its artifact stored, its schema, fingerprint and reference profile
computed from the training data, a new version in development (``Workspace.register`` and
``register_file``, ``modelward register``).

A part of the workspace imported on first use: reading a registry does not load the data
and flavor modules registering needs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data import fingerprint, infer_schema, read_source, split_target
from modelward.data.profile import profile_frame
from modelward.errors import ArtifactError, ConfigError, DataError, NotFound
from modelward.flavors import OnnxFlavor, SklearnFlavor, flavor_for_file
from modelward.flavors.nulls import nullable_inputs
from modelward.registry.names import check_model_name
from modelward.registry.registry import check_task

if TYPE_CHECKING:
    import pandas as pd

    from modelward.flavors.base import Flavor
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["provenance", "register_file", "register_model"]


def register_model(
    ws: Workspace,
    name: str,
    model: Any,
    *,
    data: pd.DataFrame,
    target: str | None = None,
    task: str | None = None,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str = "",
    source: dict[str, Any] | None = None,
    reference_profile: dict[str, Any] | None = None,
    accepts_missing: list[str] | None = None,
) -> VersionInfo:
    """:meth:`Workspace.register`: an estimator (or ONNX bytes) as a new version."""
    flavor: type[SklearnFlavor] | type[OnnxFlavor]
    flavor = OnnxFlavor if isinstance(model, bytes) or hasattr(model, "graph") else SklearnFlavor
    blob = flavor.save(model)
    loaded = flavor.load(blob)  # proves the artifact loads as it will later
    return _register_blob(
        ws,
        name,
        blob,
        flavor.name,
        loaded,
        data=data,
        target=target,
        task=task,
        params=params if params is not None else _estimator_params(model),
        metrics=metrics,
        tags=tags,
        description=description,
        source=source or provenance(None),
        reference_profile=reference_profile,
        accepts_missing=accepts_missing,
    )


def register_file(
    ws: Workspace,
    name: str,
    path: str | Path,
    *,
    data: pd.DataFrame | Path | str,
    target: str | None = None,
    task: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str = "",
    accepts_missing: list[str] | None = None,
) -> VersionInfo:
    """:meth:`Workspace.register_file`: a model file, loaded under the trust rules first.
    ``accepts_missing``: inputs declared nullable (``--nullable``), beside the ones the
    model is found to accept as missing by trying it."""
    path = Path(path)
    flavor = flavor_for_file(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactError(f"model file {path} does not exist; check the path") from exc
    loaded = flavor.load(blob)
    model = getattr(loaded, "model", None)
    return _register_blob(
        ws,
        name,
        blob,
        flavor.name,
        loaded,
        data=read_source(data)[0],
        target=target,
        task=task,
        params=_estimator_params(model) if model is not None else {},
        tags=tags,
        description=description,
        source=provenance(path),
        accepts_missing=accepts_missing,
    )


def _register_blob(
    ws: Workspace,
    name: str,
    blob: bytes,
    flavor: str,
    loaded: Flavor,
    *,
    data: pd.DataFrame,
    target: str | None,
    task: str | None,
    params: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str = "",
    source: dict[str, Any] | None = None,
    reference_profile: dict[str, Any] | None = None,
    accepts_missing: list[str] | None = None,
) -> VersionInfo:
    check_model_name(name)
    features, labels = split_target(data, target) if target else (data, None)
    wanted = loaded.input_names
    if wanted:
        missing = [column for column in wanted if column not in features.columns]
        if missing:
            raise DataError(
                f"the data lacks the model's input column(s) {', '.join(missing)}; "
                "pass the data the model was trained on",
                field="data",
            )
        features = features[wanted]
        data = features if labels is None else features.assign(**{str(target): labels})
    if task is not None:
        check_task(task)
    try:
        existing = ws.registry.get_model(name)
    except NotFound:
        existing = None
    if existing is not None and task is not None and task != existing.task:
        raise ConfigError(
            f"model {name!r} is a {existing.task} model; drop --task or use another name"
        )
    task = task or (existing.task if existing else _infer_task(loaded, labels))
    _check_positive_class((tags or {}).get("positive_class"), loaded, task)
    schema = infer_schema(features)
    unknown = sorted(set(accepts_missing or ()) - set(features.columns))
    if unknown:
        raise ConfigError(
            f"accepts_missing names column(s) the data lacks: {', '.join(unknown)}; "
            "name input columns only (--nullable)"
        )
    learned = nullable_inputs(loaded, features)
    for column in schema["columns"]:
        if learned is not None:  # tried: the model itself says what it accepts as missing
            column["nullable"] = column["name"] in learned
        if column["name"] in (accepts_missing or ()):
            column["nullable"] = True  # declared: a missing value is valid
    if reference_profile is None:
        reference_profile = _profile(data, target)
    digest = ws.artifacts.put(blob)
    if existing is None:
        ws.registry.create_model(name, task=task, description=description)
    return ws.registry.add_version(
        name,
        kind="artifact",
        flavor=flavor,
        sha256=digest,
        size=len(blob),
        input_schema=schema,
        reference_profile=reference_profile,
        data_fingerprint=fingerprint(data),
        params=params,
        metrics=metrics,
        tags=tags,
        source=source,
        description=description,
    )


def _check_positive_class(wanted: Any, loaded: Flavor, task: str) -> None:
    """A declared positive class (the ``positive_class`` tag, ``--positive-class``) names
    one of a binary classifier's two classes."""
    if wanted is None:
        return
    if task != "binary-classification":
        raise ConfigError(
            f"--positive-class applies to binary classifiers; this model is a {task} model",
            field="positive_class",
        )
    classes = [str(c) for c in (getattr(loaded, "classes", None) or [])]
    if classes and str(wanted) not in classes:
        raise ConfigError(
            f"--positive-class {wanted!r} is not one of the model's classes "
            f"({', '.join(classes)}); name one of them",
            field="positive_class",
        )


def _infer_task(loaded: Any, labels: Any) -> str:
    classes = getattr(loaded, "classes", None)
    if classes is not None:
        return "binary-classification" if len(classes) == 2 else "multiclass-classification"
    if labels is not None:
        import pandas as pd

        unique = labels.dropna().nunique()
        if unique == 2:
            return "binary-classification"
        if pd.api.types.is_float_dtype(labels) or unique > 20:
            return "regression"
        return "multiclass-classification"
    raise ConfigError("cannot tell the model's task; pass --task", field="task")


def _profile(data: pd.DataFrame, target: str | None) -> dict[str, Any]:
    """The reference profile stored with a version (drift monitoring compares to it)."""
    return profile_frame(data, target=target)


def _estimator_params(model: Any) -> dict[str, Any]:
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    simple = (str, int, float, bool, type(None))
    return {k: v for k, v in get_params(deep=True).items() if isinstance(v, simple)}


def provenance(path: Path | None) -> dict[str, Any]:
    """Where a registration comes from: the model file (if any) and the git commit of the
    folder it is in (else of the current folder), when there is one."""
    source: dict[str, Any] = {}
    if path is not None:
        source["file"] = str(Path(path).resolve())
    where = Path(path).resolve().parent if path is not None else Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source
    if commit.returncode == 0:
        source["git_commit"] = commit.stdout.strip()
    return source
