"""ONNX models run by onnxruntime (e.g. scikit-learn pipelines converted by skl2onnx).

Inputs are fed the way skl2onnx declares them: one tensor per input column when the
graph has several inputs, or one 2-D float tensor when it has one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelward.errors import ArtifactError

__all__ = ["OnnxFlavor"]

_NUMPY_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(string)": "object",
    "tensor(bool)": "bool",
}


class OnnxFlavor:
    name: ClassVar[str] = "onnx"
    suffix: ClassVar[str] = ".onnx"

    def __init__(self, session: Any, data_size: int) -> None:
        self.session = session
        self._size = data_size
        self.inputs = session.get_inputs()
        self.outputs = session.get_outputs()

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
                f"the artifact is not a loadable ONNX model ({str(exc).splitlines()[0]}); "
                "convert the model again (modelward optimize)"
            ) from exc
        return cls(session, len(data))

    @property
    def input_names(self) -> list[str] | None:
        """One graph input per column (skl2onnx's layout for DataFrames), else unknown."""
        return [i.name for i in self.inputs] if len(self.inputs) > 1 else None

    def _feeds(self, frame: Any) -> dict[str, Any]:
        import numpy as np

        if len(self.inputs) == 1:
            spec = self.inputs[0]
            dtype = _NUMPY_TYPES.get(spec.type, "float32")
            values = frame.to_numpy() if hasattr(frame, "to_numpy") else np.asarray(frame)
            return {spec.name: values.astype(dtype)}
        feeds = {}
        for spec in self.inputs:
            if spec.name not in frame:
                raise ArtifactError(f"the ONNX model needs input column {spec.name!r}")
            dtype = _NUMPY_TYPES.get(spec.type, "float32")
            column = frame[spec.name].to_numpy()
            if dtype == "object":
                column = column.astype(str)
            feeds[spec.name] = column.astype(dtype).reshape(-1, 1)
        return feeds

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
            "bytes": self._size,
        }
