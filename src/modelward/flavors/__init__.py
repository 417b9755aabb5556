"""Model flavors: one small class per format, all with the same interface."""

from __future__ import annotations

from pathlib import Path

from modelward.errors import ArtifactError
from modelward.flavors.base import Flavor
from modelward.flavors.onnx import OnnxFlavor
from modelward.flavors.sklearn import SklearnFlavor

__all__ = ["FLAVORS", "Flavor", "OnnxFlavor", "SklearnFlavor", "flavor_for_file", "get_flavor"]

FLAVORS: dict[str, type[SklearnFlavor] | type[OnnxFlavor]] = {
    SklearnFlavor.name: SklearnFlavor,
    OnnxFlavor.name: OnnxFlavor,
}


def get_flavor(name: str) -> type[SklearnFlavor] | type[OnnxFlavor]:
    try:
        return FLAVORS[name]
    except KeyError as exc:
        raise ArtifactError(
            f"unknown model flavor {name!r}; known flavors: {', '.join(sorted(FLAVORS))}"
        ) from exc


def flavor_for_file(path: Path) -> type[SklearnFlavor] | type[OnnxFlavor]:
    suffix = path.suffix.lower()
    if suffix in (".pkl", ".pickle", ".joblib"):
        raise ArtifactError(
            f"{path} is a pickle file, which can run arbitrary code when loaded; save the model "
            "with skops.io.dump(model, 'model.skops') and register that file"
        )
    for flavor in FLAVORS.values():
        if suffix == flavor.suffix:
            return flavor
    raise ArtifactError(
        f"{path} has an unknown model format {suffix or '(no suffix)'!r}; register a .skops "
        "(scikit-learn) or .onnx file"
    )
