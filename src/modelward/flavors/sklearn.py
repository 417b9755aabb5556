"""scikit-learn estimators and pipelines, stored with skops: never plain pickle.

Artifacts are untrusted input. Before skops builds anything, the file is audited against
exact lists of type and function names (:mod:`modelward.flavors.trust`); a file naming
anything else, or asking skops to call something, is refused naming it.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any, ClassVar

from modelward.errors import ArtifactError
from modelward.flavors.trust import audit

__all__ = ["SklearnFlavor"]


class SklearnFlavor:
    name: ClassVar[str] = "sklearn"
    suffix: ClassVar[str] = ".skops"

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def save(cls, model: Any) -> bytes:
        import skops.io as sio

        if not hasattr(model, "predict"):
            raise ArtifactError(
                f"a {type(model).__name__} has no predict(); register a fitted scikit-learn "
                "estimator or pipeline"
            )
        return _canonical_zip(sio.dumps(model))

    @classmethod
    def load(cls, data: bytes) -> SklearnFlavor:
        import skops.io as sio

        trusted = audit(data)
        try:
            return cls(sio.loads(data, trusted=trusted))
        except Exception as exc:  # noqa: BLE001 - a damaged file fails in many ways
            first = next(iter(str(exc).splitlines()), "")
            raise ArtifactError(
                f"the skops file does not load ({type(exc).__name__}: {first}); save the "
                "model again with skops.io.dump(model, 'model.skops')"
            ) from exc

    def predict(self, frame: Any) -> Any:
        return self.model.predict(frame)

    def predict_proba(self, frame: Any) -> Any | None:
        if not hasattr(self.model, "predict_proba"):
            return None
        return self.model.predict_proba(frame)

    def predict_both(self, frame: Any) -> tuple[Any, Any | None]:
        """Labels and probabilities (None without ``predict_proba``), a pipeline's
        transforms run once for both: what ``predict`` and ``predict_proba`` give, as a
        pipeline runs its transforms then asks its final step."""
        model = self.model
        if not hasattr(model, "predict_proba"):
            return model.predict(frame), None
        steps = getattr(model, "steps", None)
        if not isinstance(steps, list) or not steps:
            return model.predict(frame), model.predict_proba(frame)
        data = frame
        for _, transform in steps[:-1]:
            if transform is not None and transform != "passthrough":
                data = transform.transform(data)
        final = steps[-1][1]
        return final.predict(data), final.predict_proba(data)

    @property
    def input_names(self) -> list[str] | None:
        """The column names the model was fitted on, when it recorded them."""
        names = getattr(self.model, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    @property
    def classes(self) -> list[Any] | None:
        classes = getattr(self.model, "classes_", None)
        return None if classes is None else [_plain(c) for c in classes]

    def describe(self) -> dict[str, Any]:
        model = self.model
        steps = getattr(model, "steps", None)
        return {
            "flavor": self.name,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "steps": [name for name, _ in steps] if steps else None,
            "classes": self.classes,
            "n_features_in": getattr(model, "n_features_in_", None),
            "feature_names_in": [str(c) for c in getattr(model, "feature_names_in_", [])] or None,
        }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


_OBJECT_ID = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')


def _canonical_zip(blob: bytes) -> bytes:
    """The skops archive rewritten so that the same model always gives the same bytes.

    skops names shared objects and array files by Python object ids (``"__id__"``,
    ``<id>.npy``) and stamps entries with the current time, so the same model would get a
    new sha256 on every save. Renumbering the ids in order of first appearance (the
    mapping is one-to-one, so shared references stay shared) and fixing the timestamps
    makes identical models share one artifact and a seeded training run reproducible
    down to its checksum.
    """
    with zipfile.ZipFile(io.BytesIO(blob)) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    schema = entries.pop("schema.json").decode()
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        old = match.group(2) or match.group(3)
        new = numbers.setdefault(old, str(len(numbers) + 1))
        return f"{match.group(1)}{new}" if match.group(2) else f'"{new}.npy"'

    schema = _OBJECT_ID.sub(renumber, schema)
    renamed = {"schema.json": schema.encode()}
    for name, data in entries.items():
        stem = name.removesuffix(".npy")
        renamed[f"{numbers.get(stem, stem)}.npy" if name.endswith(".npy") else name] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, renamed[name])
    return out.getvalue()
