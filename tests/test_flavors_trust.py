"""A .skops file is audited against exact trusted names before skops builds anything.

The malicious files are real fitted pipelines with one node of their ``schema.json``
replaced, the way an attacker would edit a file they were asked to register.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import FEATURES
from modelward import ArtifactError
from modelward.flavors import SklearnFlavor
from modelward.flavors.trust import trusted_functions, trusted_types

pytestmark = pytest.mark.sqlite_only


class Sneaky:
    """A class outside every trust list whose ``__setstate__`` leaves a mark."""

    def __setstate__(self, state: dict) -> None:
        Path(state["mark"]).write_text("ran")


def _json(value: object) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def _node(loader: str, dotted: str, **rest: object) -> dict:
    module, _, name = dotted.rpartition(".")
    return {"__class__": name, "__module__": module, "__loader__": loader, **rest}


def _call(dotted: str, *args: object) -> dict:
    """skops' ConstructorFromReduceNode: ``dotted(*args)`` while loading."""
    content = {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": [a if isinstance(a, dict) else _json(a) for a in args],
    }
    return _node("ConstructorFromReduceNode", dotted, content=content)


def _planted(blob: bytes, node: dict) -> bytes:
    """The pipeline's file with ``memory`` (a plain None) replaced by ``node``."""
    source = zipfile.ZipFile(io.BytesIO(blob))
    schema = json.loads(source.read("schema.json"))
    schema["content"]["content"]["memory"] = node
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, json.dumps(schema) if name == "schema.json" else data)
    return out.getvalue()


@pytest.fixture
def good(fitted) -> bytes:
    return SklearnFlavor.save(fitted)


def _attacks(tmp_path: Path) -> dict[str, tuple[dict, Path]]:
    """name → (planted node, the file it would create if it ran)."""
    np.save(tmp_path / "data.npy", np.arange(3))
    marks = {name: tmp_path / f"{name}.mark" for name in ("savetxt", "eval", "system", "custom")}
    matrix = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode"}
    matrix["content"] = [_json([1, 2])]
    code = f"__import__('pathlib').Path({str(marks['eval'])!r}).write_text('ran')"
    state = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode"}
    state["content"] = {"mark": _json(str(marks["custom"]))}
    state["key_types"] = {
        "__class__": "list",
        "__module__": "builtins",
        "__loader__": "ListNode",
        "content": [_node("TypeNode", "builtins.str")],
    }
    return {
        "numpy.savetxt": (_call("numpy.savetxt", str(marks["savetxt"]), matrix), marks["savetxt"]),
        "numpy.load": (_call("numpy.load", str(tmp_path / "data.npy")), tmp_path / "nothing"),
        "builtins.eval": (_call("builtins.eval", code), marks["eval"]),
        "posix.system": (_call("posix.system", f"touch {marks['system']}"), marks["system"]),
        "os.system": (_call("os.system", f"touch {marks['system']}"), marks["system"]),
        "custom": (_node("ObjectNode", f"{__name__}.Sneaky", content=state), marks["custom"]),
        "numpy.savetxt as a function": (
            _node("FunctionNode", "numpy.savetxt"),
            marks["savetxt"],
        ),
        # a trusted type, but a LossNode calls what it names with the file's values
        "builtins.bytearray as a loss": (
            _node(
                "LossNode",
                "builtins.bytearray",
                __reduce__={"args": _call("builtins.tuple", 10**12)["content"]},
                content=state,
            ),
            tmp_path / "nothing",
        ),
    }


ATTACKS = [
    "numpy.savetxt",
    "numpy.load",
    "builtins.eval",
    "posix.system",
    "os.system",
    "custom",
    "numpy.savetxt as a function",
    "builtins.bytearray as a loss",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_crafted_file_is_refused_naming_what_it_asks_for(good, tmp_path, attack):
    node, mark = _attacks(tmp_path)[attack]
    with pytest.raises(ArtifactError) as caught:
        SklearnFlavor.load(_planted(good, node))
    message = caught.value.message
    named = f"{__name__}.Sneaky" if attack == "custom" else attack.split()[0]
    assert named in message and "\n" not in message
    assert not mark.exists()


def test_register_refuses_the_file_with_exit_2_and_stores_nothing(
    workspace, cli, good, tmp_path, cleveland_csv
):
    node, mark = _attacks(tmp_path)["numpy.savetxt"]
    path = tmp_path / "model.skops"
    path.write_bytes(_planted(good, node))
    ran = cli("register", "heart", "--model", path, "--data", cleveland_csv, "--target", "target")
    assert ran.exit_code == 2
    assert "numpy.savetxt" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert not mark.exists()
    assert workspace.registry.list_models() == []


def test_every_path_that_loads_a_stored_artifact_refuses_it(workspace, fitted, cleveland, tmp_path):
    """A version registered before this audit, whose artifact asks for numpy.savetxt."""
    from sqlalchemy import update

    from modelward.serving.models import load_model
    from modelward.store.tables import VersionRow

    info = workspace.register("heart", fitted, data=cleveland[FEATURES])
    node, mark = _attacks(tmp_path)["numpy.savetxt"]
    evil = workspace.artifacts.put(_planted(SklearnFlavor.save(fitted), node))
    with workspace.db.session() as session:
        session.execute(
            update(VersionRow).where(VersionRow.sha256 == info.sha256).values(sha256=evil)
        )
    with pytest.raises(ArtifactError, match="numpy.savetxt"):
        workspace.load_model("heart", 1)
    with pytest.raises(ArtifactError, match="numpy.savetxt"):
        load_model(workspace, "heart", 1)  # what the server does at start
    assert not mark.exists()


def test_the_lists_are_exact_names_and_hold_no_dangerous_callable():
    names = trusted_types() | trusted_functions()
    assert all(not n.endswith(".") and "*" not in n for n in names)
    for dangerous in (
        "numpy.savetxt",
        "numpy.load",
        "numpy.memmap",
        "numpy.save",
        "builtins.eval",
        "builtins.exec",
        "builtins.getattr",
        "os.system",
        "posix.system",
        "subprocess.Popen",
        "numpy.lib.npyio.NpzFile",
        "sklearn.utils._testing.TempMemmap",
    ):
        assert dangerous not in names
    assert "sklearn.ensemble._forest.RandomForestClassifier" in trusted_types()
    assert "sklearn.tree._tree.Tree" in trusted_types()


def _tiny():
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=90),
            "b": rng.normal(size=90),
            "c": rng.choice(["x", "y", "z"], 90),
        }
    )
    frame.loc[3, "a"] = np.nan
    return frame, rng.integers(0, 3, 90), frame["b"] * 2 + rng.normal(size=90)


def _with_prep(estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    prep = ColumnTransformer([("n", numeric, ["a", "b"]), ("c", categorical, ["c"])])
    return Pipeline([("prep", prep), ("model", estimator)])


def _defaults(kind: str) -> list:
    """Every scikit-learn estimator of a kind that fits on plain data with defaults."""
    import warnings

    from sklearn.utils import all_estimators

    frame, classes, values = _tiny()
    found = []
    for _, cls in all_estimators(type_filter=kind):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found.append(
                    _with_prep(cls()).fit(frame, classes if kind == "classifier" else values)
                )
        except (TypeError, ValueError, np.linalg.LinAlgError):
            continue  # needs an inner estimator, positive data, several targets ...
    return found


@pytest.mark.filterwarnings("ignore::FutureWarning")  # loading a deprecated estimator
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_every_estimator_that_trains_with_defaults_loads_and_predicts_the_same(kind):
    frame, _, _ = _tiny()
    models = _defaults(kind)
    assert len(models) > 25
    for model in models:
        loaded = SklearnFlavor.load(SklearnFlavor.save(model))
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def _variants() -> list:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        StackingClassifier,
    )
    from sklearn.feature_selection import SelectKBest, mutual_info_classif
    from sklearn.gaussian_process import GaussianProcessClassifier
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame, classes, values = _tiny()
    spread = np.abs(values) + 0.1
    fitted = [
        _with_prep(HistGradientBoostingClassifier(max_iter=5)).fit(frame, classes),
        _with_prep(HistGradientBoostingRegressor(loss="poisson", max_iter=5)).fit(frame, spread),
        _with_prep(GradientBoostingRegressor(loss="huber", n_estimators=5)).fit(frame, values),
        _with_prep(CalibratedClassifierCV(method="isotonic")).fit(frame, classes),
        _with_prep(OneVsRestClassifier(LogisticRegression())).fit(frame, classes),
        _with_prep(GaussianProcessClassifier(Matern() + WhiteKernel())).fit(frame, classes),
        _with_prep(KNeighborsClassifier(algorithm="ball_tree", metric="manhattan")).fit(
            frame, classes
        ),
        _with_prep(MLPClassifier(solver="sgd", max_iter=5)).fit(frame, classes),
        _with_prep(SGDClassifier(loss="modified_huber")).fit(frame, classes),
        _with_prep(
            StackingClassifier([("lr", LogisticRegression()), ("knn", KNeighborsClassifier())])
        ).fit(frame, classes),
    ]
    selecting = Pipeline(
        [
            ("prep", _with_prep(LogisticRegression()).steps[0][1]),
            ("log", FunctionTransformer(np.abs)),
            ("select", SelectKBest(mutual_info_classif, k=3)),
            ("model", LogisticRegression()),
        ]
    )
    return [*fitted, selecting.fit(frame, classes)]


def test_internal_types_of_fitted_estimators_load():
    """Losses, link functions, kernels, distance metrics, optimizers, score functions."""
    import warnings

    frame, _, _ = _tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = _variants()
    for model in models:
        loaded = SklearnFlavor.load(SklearnFlavor.save(model))
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_file_that_is_not_json_inside_is_one_line():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("schema.json", "{" * 10)
    with pytest.raises(ArtifactError, match="not a readable skops archive"):
        SklearnFlavor.load(out.getvalue())
