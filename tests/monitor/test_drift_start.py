"""What ``monitor drift`` loads as a user runs it: the default method of every feature
kind (ks, ztest, chi2 on the small heart reference; wasserstein and jensenshannon on a
large one) computes SciPy's figures without importing ``scipy.stats``, whose package
import (every distribution, their docstrings parsed) was most of the check's time, nor
``scipy.special`` (its array-API layer loads ``numpy.f2py``: a quarter of a small check)."""

from __future__ import annotations

import json

import pytest
from tests.monitor.conftest import UNTIL
from tests.test_cli_start import loaded

pytestmark = pytest.mark.sqlite_only


def _drift(*args: str) -> tuple[dict, list[str]]:
    code, out, heavy = loaded(
        "monitor", "drift", *args, "--last", "96h", "--until", UNTIL, "--json",
        watched=("scipy.stats", "scipy.special", "scipy.spatial"),
    )  # fmt: skip
    assert code in (0, 1)
    return json.loads(out)["results"], heavy


def test_the_default_methods_run_without_scipy_stats(served):
    found, heavy = _drift("heart")
    methods = {entry["method"] for entry in found["features"].values()}
    assert methods == {"ks", "ztest", "chi2"}  # every test the small reference uses
    assert all(entry["p_value"] is not None for entry in found["features"].values())
    assert heavy == []


def test_the_distances_run_without_scipy_stats(served):
    found, heavy = _drift("heart", "--method", "thalach=wasserstein", "--method",
                          "cp=jensenshannon")  # fmt: skip
    assert found["features"]["thalach"]["method"] == "wasserstein"
    assert found["features"]["cp"]["method"] == "jensenshannon"
    assert heavy == []


def test_the_runner_sees_scipy_stats_when_it_is_loaded(served):
    """The checks above can fail: a command that imports scipy.stats is seen doing it."""
    code, _, heavy = loaded("data", "profile", "--help", watched=("scipy.stats", "typer"))
    assert code == 0 and heavy == ["typer"]


def test_a_classifiers_weekly_runbook_runs_without_scipy_stats(served):
    """The weekly checks in one process (drift, and degradation's tests of which
    features differ between wrong and right predictions) load neither ``scipy.stats``
    nor ``scipy.special``."""
    code, out, heavy = loaded(
        "runbook", "weekly", "heart", "--until", UNTIL, "--json",
        watched=("scipy.stats", "scipy.special"),
    )  # fmt: skip
    assert code in (0, 1), out
    ran = json.dumps(json.loads(out))
    assert '"drift"' in ran and '"degradation"' in ran
    assert heavy == []
