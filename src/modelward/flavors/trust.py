"""What a ``.skops`` model file may name: exact type and function names, nothing else.

A skops file is a JSON tree (``schema.json``) of nodes, each naming a Python object by
module and name; loading imports that module and builds, or calls, what it names. So a
file is audited node by node before skops sees it:

- every node must be a kind that builds data (an object, an array, a dict, ...). Kinds
  that call something named in the file with arguments from the file
  (``ConstructorFromReduceNode``, ``PartialNode``, ``MethodNode``, ``OperatorFuncNode``,
  ...) are refused whatever they name;
- a node building data must name one of :func:`trusted_types`, a function node one of
  :func:`trusted_functions`. Both are sets of exact ``module.Name`` strings: no prefix
  ever trusts a whole module (``numpy.`` would trust ``numpy.savetxt``). The two data
  kinds that call the type they name with values from the file are held tighter still:
  a ``LossNode`` may only build a loss, an ``NdArrayNode`` only a NumPy array or scalar.

The public scikit-learn estimators (``sklearn.utils.all_estimators``), NumPy's scalar
types, SciPy's sparse classes and NumPy's ufuncs are read from the installed libraries on
first use, by exact name, so an upgrade that moves a class keeps its models loading. The
internal types fitted estimators store (tree storage, losses, kernels, distance metrics,
...) are listed below by name, one by one: trusting one is a reviewed decision.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from typing import Any

from modelward.errors import ArtifactError

__all__ = ["audit", "refused_names", "trusted_functions", "trusted_types"]

#: Node kinds that build data from the file; what they name must be a trusted type.
DATA_NODES = frozenset(
    {
        "BytearrayNode",
        "BytesNode",
        "CachedNode",
        "DTypeNode",
        "DictNode",
        "JsonNode",
        "ListNode",
        "LossNode",
        "NdArrayNode",
        "ObjectNode",
        "RandomGeneratorNode",
        "RandomStateNode",
        "SetNode",
        "SliceNode",
        "SparseMatrixNode",
        "TreeNode",
        "TupleNode",
        "TypeNode",
    }
)
#: The one node kind that names a function (fetched, not called, while loading).
FUNCTION_NODE = "FunctionNode"

#: Builtins and standard-library types skops writes for plain Python values.
_PYTHON_TYPES = (
    "builtins.bool",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.object",  # the dtype=object of encoders' categories
    "builtins.set",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    "collections.OrderedDict",
)

_DISTANCES = (
    "BrayCurtis",
    "Canberra",
    "Chebyshev",
    "Dice",
    "Euclidean",
    "Hamming",
    "Haversine",
    "Jaccard",
    "Kulsinski",
    "Mahalanobis",
    "Manhattan",
    "Matching",
    "Minkowski",
    "RogersTanimoto",
    "RussellRao",
    "SEuclidean",
    "SokalMichener",
    "SokalSneath",
)

#: Internal (non-estimator) classes a fitted scikit-learn estimator holds, by module.
_SKLEARN_INTERNALS: dict[str, tuple[str, ...]] = {
    "sklearn._loss._loss": (
        "CyAbsoluteError",
        "CyExponentialLoss",
        "CyHalfBinomialLoss",
        "CyHalfGammaLoss",
        "CyHalfMultinomialLoss",
        "CyHalfPoissonLoss",
        "CyHalfSquaredError",
        "CyHalfTweedieLoss",
        "CyHalfTweedieLossIdentity",
        "CyHuberLoss",
        "CyPinballLoss",
    ),
    "sklearn._loss.link": (
        "HalfLogitLink",
        "IdentityLink",
        "Interval",
        "LogLink",
        "LogitLink",
        "MultinomialLogit",
    ),
    "sklearn._loss.loss": (
        "AbsoluteError",
        "ExponentialLoss",
        "HalfBinomialLoss",
        "HalfGammaLoss",
        "HalfMultinomialLoss",
        "HalfPoissonLoss",
        "HalfSquaredError",
        "HalfTweedieLoss",
        "HalfTweedieLossIdentity",
        "HuberLoss",
        "PinballLoss",
    ),
    "sklearn.calibration": ("_CalibratedClassifier", "_SigmoidCalibration", "_TemperatureScaling"),
    "sklearn.compose._column_transformer": ("make_column_selector",),
    "sklearn.ensemble._hist_gradient_boosting.binning": ("_BinMapper",),
    "sklearn.ensemble._hist_gradient_boosting.predictor": ("TreePredictor",),
    "sklearn.gaussian_process._gpc": ("_BinaryGaussianProcessClassifierLaplace",),
    "sklearn.gaussian_process.kernels": (
        "CompoundKernel",
        "ConstantKernel",
        "DotProduct",
        "ExpSineSquared",
        "Exponentiation",
        "Matern",
        "PairwiseKernel",
        "Product",
        "RBF",
        "RationalQuadratic",
        "Sum",
        "WhiteKernel",
    ),
    "sklearn.impute._iterative": ("_ImputerTriplet",),
    "sklearn.linear_model._sgd_fast": (
        "EpsilonInsensitive",
        "Hinge",
        "ModifiedHuber",
        "SquaredEpsilonInsensitive",
        "SquaredHinge",
    ),
    "sklearn.metrics._dist_metrics": tuple(
        f"{name}Distance{bits}" for name in _DISTANCES for bits in (32, 64)
    ),
    "sklearn.multiclass": ("_ConstantPredictor",),
    "sklearn.neighbors._ball_tree": ("BallTree",),
    "sklearn.neighbors._kd_tree": ("KDTree",),
    "sklearn.neural_network._stochastic_optimizers": ("AdamOptimizer", "SGDOptimizer"),
    "sklearn.tree._tree": ("Tree",),
    "sklearn.utils._bunch": ("Bunch",),
}

#: scikit-learn's univariate score functions, which SelectKBest & co. keep a reference to.
_SCORE_FUNCTIONS = (
    "chi2",
    "f_classif",
    "f_oneway",
    "f_regression",
    "mutual_info_classif",
    "mutual_info_regression",
    "r_regression",
)


def _name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__name__}"


def _numpy_arrays() -> frozenset[str]:
    """``numpy.ndarray`` and NumPy's scalar types (``numpy.float64``, ``numpy.bool``, ...)."""
    import numpy as np

    return frozenset({_name(np.ndarray)} | {_name(t) for t in set(np.sctypeDict.values())})


def _internals(*modules: str) -> set[str]:
    return {f"{module}.{name}" for module in modules for name in _SKLEARN_INTERNALS[module]}


@functools.cache
def _called_with_file_data() -> dict[str, frozenset[str]]:
    """Node kinds that call the type they name with values from the file: what they may name."""
    losses = _internals("sklearn._loss._loss", "sklearn.linear_model._sgd_fast")
    return {"LossNode": frozenset(losses), "NdArrayNode": _numpy_arrays()}


@functools.cache
def trusted_types() -> frozenset[str]:
    """Exact names of the types a fitted scikit-learn model's file may build."""
    import numpy as np
    import scipy.sparse
    from sklearn.utils import all_estimators

    names = set(_PYTHON_TYPES) | _internals(*_SKLEARN_INTERNALS) | _numpy_arrays()
    names |= {_name(cls) for _, cls in all_estimators()}
    names |= {"numpy.dtype", _name(np.random.RandomState), _name(np.random.Generator)}
    sparse = (scipy.sparse.spmatrix, getattr(scipy.sparse, "sparray", scipy.sparse.spmatrix))
    names |= {
        _name(obj)
        for obj in vars(scipy.sparse).values()
        if isinstance(obj, type) and issubclass(obj, sparse) and obj not in sparse
    }
    return frozenset(names)


@functools.cache
def trusted_functions() -> frozenset[str]:
    """Exact names of the functions a model's file may refer to (never called on load)."""
    import numpy as np
    import sklearn.feature_selection as selection

    names = {_name(getattr(selection, name)) for name in _SCORE_FUNCTIONS}
    names |= {f"numpy.{name}" for name, obj in vars(np).items() if isinstance(obj, np.ufunc)}
    return frozenset(names)


def _nodes(schema: Any) -> list[tuple[str, str]]:
    """Every (node kind, ``module.Name``) in a skops schema, walked without recursion."""
    found: list[tuple[str, str]] = []
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                found.append(
                    (str(item["__loader__"]), f"{item.get('__module__')}.{item.get('__class__')}")
                )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _schema(data: bytes) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError) as exc:
        raise _unreadable(exc) from exc


def _unreadable(exc: Exception) -> ArtifactError:
    first = next(iter(str(exc).splitlines()), "")
    return ArtifactError(
        f"the file is not a readable skops archive ({type(exc).__name__}: {first}); "
        "save the model with skops.io.dump(model, 'model.skops')"
    )


def refused_names(data: bytes) -> list[str]:
    """What in a skops file is outside the trust lists, each said in a few words, sorted."""
    types, functions = trusted_types(), trusted_functions()
    called = _called_with_file_data()
    refused: set[str] = set()
    for kind, name in _nodes(_schema(data)):
        if kind == FUNCTION_NODE:
            if name not in functions:
                refused.add(f"refers to the function {name}")
        elif kind not in DATA_NODES:
            refused.add(f"asks skops to call {name} while loading ({kind})")
        elif name not in types:
            refused.add(f"names the type {name}")
        elif name not in called.get(kind, types):
            refused.add(f"asks skops to call {name} with values from the file ({kind})")
    return sorted(refused)


def audit(data: bytes) -> list[str]:
    """Refuse a file naming anything untrusted; return what skops must be told to trust.

    The returned names are the ones skops does not trust by default, all of them on our
    lists; ``skops.io.loads(data, trusted=audit(data))`` then loads exactly the audited
    tree.
    """
    import skops.io as sio

    refused = refused_names(data)
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise ArtifactError(
            f"the model file is refused: it {refused[0]}{more}; only the scikit-learn, NumPy "
            "and SciPy types of fitted models are loaded: save a scikit-learn estimator or "
            "pipeline without custom code with skops.io.dump"
        )
    try:
        wanted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - skops raises many types for a bad file
        raise _unreadable(exc) from exc
    allowed = trusted_types() | trusted_functions()
    stray = sorted(set(wanted) - allowed)
    if stray:  # skops saw a name our walk did not: refuse rather than guess
        raise ArtifactError(
            f"the model file is refused: skops finds {stray[0]} in it, which is not on the "
            "list of scikit-learn, NumPy and SciPy types of fitted models"
        )
    return list(wanted)
