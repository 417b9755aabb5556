"""Prediction regression tests: chosen inputs and the outputs a version must give.

```yaml
cases:
  - name: typical healthy patient
    input: {age: 41, sex: 0, cp: 2, trestbps: 130, chol: 204, ...}
    expect: 0                                 # the predicted label
  - name: high risk
    input: {...}
    expect: {label: 1, probability: {min: 0.8}}   # probability of that label
  - name: a regressor's answer                    # a number, within a tolerance
    input: {...}
    expect: {value: 239, tolerance: 0.5}
```

A bare number expected of a regressor is a value (equal up to float rounding).

Every case names every input column (``null`` for a missing value); a failure is shown as
a diff of what was expected against what the model gave.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from modelward.data.profile import _key
from modelward.errors import ConfigError
from modelward.evaluation.scoring import features_for

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["CaseFile", "load_cases", "run_cases"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Strict):
    min: float | None = Field(default=None, ge=0, le=1)
    max: float | None = Field(default=None, ge=0, le=1)


class Expect(_Strict):
    label: Any = None
    probability: Bounds | None = None
    value: float | None = None
    tolerance: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Expect:
        if (self.label is None) == (self.value is None):
            raise ValueError("give either label (a class) or value (a number), not both")
        if self.value is not None and self.probability is not None:
            raise ValueError("probability bounds go with a label, not a value")
        return self


class Case(_Strict):
    name: str
    input: dict[str, Any]
    expect: Expect | int | float | str | bool


class CaseFile(_Strict):
    model: str | None = None
    cases: list[Case] = Field(min_length=1)


def load_cases(path: Path | str) -> CaseFile:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"cases file {path} does not exist; check the path") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"cases file {path} is not valid YAML; fix the syntax") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"cases file {path} must be a mapping with cases: [...]")
    try:
        return CaseFile.model_validate(raw)
    except ValidationError as exc:
        # a typo'd key also makes the intended key "missing": name the typo first
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        key = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("Expect", "int")))
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"cases file {path}: unknown key {key!r}") from exc
        if first["type"] == "missing":
            raise ConfigError(f"cases file {path}: {key} is required") from exc
        raise ConfigError(f"cases file {path}: {key}: {first['msg']}") from exc


def _expect(raw: Expect | int | float | str | bool, regressor: bool) -> Expect:
    if isinstance(raw, Expect):
        return raw
    if regressor and isinstance(raw, int | float) and not isinstance(raw, bool):
        return Expect(value=float(raw))
    return Expect(label=raw)


def _check(
    name: str, expect: Expect, predicted: Any, proba: Any, classes: list[str], ref: str
) -> dict[str, Any]:
    """One case's verdict, with a diff of what was expected against what the model gave."""
    if expect.value is not None:
        return _check_value(name, expect, predicted, ref)
    got_label = _key(predicted)
    want_label = _key(expect.label)
    p = None
    if proba is not None and want_label in classes:
        p = float(proba[classes.index(want_label)])
    expected_lines = [f"label: {want_label}"]
    got_lines = [f"label: {got_label}"]
    ok = got_label == want_label
    bounds = expect.probability
    for bound, sign, within in (
        (bounds and bounds.min, ">=", lambda q, b: q >= b),
        (bounds and bounds.max, "<=", lambda q, b: q <= b),
    ):
        if bound is None:
            continue
        expected_lines.append(f"probability of {want_label} {sign} {bound:g}")
        hit = p is not None and within(p, bound)
        shown = p if p is None else round(p, 4)
        got_lines.append(expected_lines[-1] if hit else f"probability of {want_label} = {shown}")
        ok = ok and hit
    return {"case": name, "passed": ok, "expected": want_label, "got": got_label,
            "probability": p, "diff": _diff(ok, expected_lines, got_lines, ref)}  # fmt: skip


def _check_value(name: str, expect: Expect, predicted: Any, ref: str) -> dict[str, Any]:
    assert expect.value is not None
    want, tolerance = expect.value, expect.tolerance
    try:
        got: float | None = float(predicted)
    except (TypeError, ValueError):
        got = None
    ok = got is not None and (abs(got - want) <= tolerance or math.isclose(got, want, rel_tol=1e-9))
    expected_lines = [f"value: {want:g} ± {tolerance:g}"]
    got_lines = [expected_lines[0] if ok else f"value: {predicted}"]
    return {"case": name, "passed": ok, "expected": want, "got": got,
            "tolerance": tolerance, "diff": _diff(ok, expected_lines, got_lines, ref)}  # fmt: skip


def _diff(ok: bool, expected: list[str], got: list[str], ref: str) -> list[str]:
    if ok:
        return []
    return list(
        difflib.unified_diff(expected, got, "expected", f"{ref} gave", lineterm="", n=len(expected))
    )


def run_cases(
    ws: Workspace,
    name: str,
    version: int | str,
    cases: CaseFile | Path | str,
    *,
    source: str | None = None,
) -> dict[str, Any]:
    """Check a version's predictions on chosen inputs (a :class:`CaseFile`, or the path of a
    ``cases.yml``); stored as a ``prediction-tests`` run. For an LLM endpoint version the
    file holds prompt tests (:mod:`modelward.llm.cases`), asked through its provider."""
    import pandas as pd

    info = ws.registry.get_version(name, version)
    if info.kind == "endpoint":
        from modelward.llm.cases import run_llm_cases

        if isinstance(cases, CaseFile):
            raise ConfigError(
                f"{info.ref} is an LLM endpoint; give it prompt cases (a cases.yml with "
                "input: and expect: {contains: …}), not tabular ones",
                field="cases",
            )
        return run_llm_cases(ws, info, cases, source=source)
    if not isinstance(cases, CaseFile):
        source = str(cases) if source is None else source
        cases = load_cases(cases)
    source = source or ""

    model = ws.load_model(name, info.version)
    wanted = model.input_names or info.feature_names
    for case in cases.cases:
        absent = [c for c in wanted if c not in case.input]
        extra = [c for c in case.input if c not in wanted]
        if absent or extra:
            what = (
                f"lacks input {absent[0]!r} (give it, or null for missing)"
                if absent
                else f"has input {extra[0]!r} that {info.ref} does not take"
            )
            raise ConfigError(f"case {case.name!r} {what}", field="cases")
    frame = pd.DataFrame([case.input for case in cases.cases])
    features = features_for(model, info, frame).astype("float64", errors="ignore")
    predicted = list(model.predict(features))
    proba = model.predict_proba(features)
    classes = [_key(c) for c in (getattr(model, "classes", None) or [])]
    regressor = not classes
    results = []
    for i, case in enumerate(cases.cases):
        expect = _expect(case.expect, regressor)
        row_proba = None if proba is None else proba[i]
        results.append(_check(case.name, expect, predicted[i], row_proba, classes, info.ref))
    failed = [r["case"] for r in results if not r["passed"]]
    out = {
        "model": name,
        "version": info.version,
        "cases": results,
        "failed": failed,
        "source": source,
    }
    ws.registry.record(
        "prediction-tests",
        out,
        model=name,
        version=info.version,
        inputs={"cases": source, "count": len(results)},
        verdict="fail" if failed else "pass",
    )
    return out
