"""ONNX models run by onnxruntime (e.g. scikit-learn pipelines converted by skl2onnx).

Inputs are fed the way skl2onnx declares them: one tensor per input column (text as
strings, a missing text value as ``""``), or one 2-D float tensor for a single-input graph
(:mod:`modelward.flavors.convert`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelward.errors import ArtifactError, first_line
from modelward.flavors.convert import feeds_from_frame

__all__ = ["OnnxFlavor"]


class OnnxFlavor:
    name: ClassVar[str] = "onnx"
    suffix: ClassVar[str] = ".onnx"

    def __init__(self, session: Any, data_size: int, classes: list[Any] | None = None) -> None:
        self.session = session
        self._size = data_size
        self.inputs = session.get_inputs()
        self.outputs = session.get_outputs()
        #: a classifier's labels in the order of its probability columns (None: a regressor,
        #: or a graph that does not say)
        self.classes = classes

    @classmethod
    def save(cls, model: Any) -> bytes:
        if isinstance(model, bytes):
            return model
        if hasattr(model, "SerializeToString"):
            return bytes(model.SerializeToString())
        raise ArtifactError(
            f"cannot save a {type(model).__name__} as ONNX; pass an onnx.ModelProto or its bytes"
        )

    @classmethod
    def load(cls, data: bytes) -> OnnxFlavor:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Fail types
            raise ArtifactError(
                f"the artifact is not a loadable ONNX model ({first_line(exc)}); "
                "convert the model again (modelward optimize)"
            ) from exc
        return cls(session, len(data), _class_labels(data))

    @property
    def input_names(self) -> list[str] | None:
        """One graph input per column (skl2onnx's layout for DataFrames), else unknown."""
        return [i.name for i in self.inputs] if len(self.inputs) > 1 else None

    def _feeds(self, frame: Any) -> dict[str, Any]:
        return feeds_from_frame(self.inputs, frame)

    def _run(self, frame: Any) -> list[Any]:
        return list(self.session.run(None, self._feeds(frame)))

    def predict(self, frame: Any) -> Any:
        return self._run(frame)[0].ravel()

    def predict_proba(self, frame: Any) -> Any | None:
        import numpy as np

        outputs = self._run(frame)
        if len(outputs) < 2:
            return None
        proba = outputs[1]
        if isinstance(proba, list):  # ZipMap output: a dict per row
            keys = sorted(proba[0])
            return np.array([[row[k] for k in keys] for row in proba], dtype="float64")
        return np.asarray(proba, dtype="float64")

    def predict_both(self, frame: Any) -> tuple[Any, Any | None]:
        """Labels and probabilities from one run of the graph."""
        import numpy as np

        outputs = self._run(frame)
        proba = outputs[1] if len(outputs) > 1 else None
        if isinstance(proba, list):
            keys = sorted(proba[0])
            proba = np.array([[row[k] for k in keys] for row in proba], dtype="float64")
        return outputs[0].ravel(), proba

    def describe(self) -> dict[str, Any]:
        return {
            "flavor": self.name,
            "inputs": [{"name": i.name, "type": i.type, "shape": i.shape} for i in self.inputs],
            "outputs": [{"name": o.name, "type": o.type} for o in self.outputs],
            "classes": self.classes,
            "bytes": self._size,
        }


def _class_labels(data: bytes) -> list[Any] | None:
    """The class labels a converted classifier's graph declares (skl2onnx writes them on
    the classifier node, ``classlabels_strings`` or ``classlabels_int64s``, in the order of
    the probability columns), or None."""
    import onnx

    try:
        graph = onnx.load_from_string(data).graph
    except Exception:  # noqa: BLE001 - onnxruntime loaded it: the labels are a nicety
        return None
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
            if attr.name == "classlabels_int64s" and attr.ints:
                return list(attr.ints)
    return None
