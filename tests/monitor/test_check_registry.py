"""Every monitoring check is one module of monitoring/checks, registered once, and reachable
the same ways: a Monitor method, a `monitor <check>` command, a row of docs/monitor.md,
a kind of stored run."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from tests.conftest import ROOT

import modelward.monitoring.checks as package
from modelward.cli.main import app
from modelward.monitoring import CHECKS, Check, CheckResult, Monitor
from modelward.monitoring.monitor import STORED


def _defined_checks() -> dict[str, list[type]]:
    """module -> the Check classes it defines."""
    out = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name == "base":
            continue
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        out[module.name] = [
            obj
            for obj in vars(loaded).values()
            if inspect.isclass(obj)
            and issubclass(obj, Check)
            and obj is not Check
            and obj.__module__ == loaded.__name__
        ]
    return out


def test_each_check_module_defines_one_registered_check():
    defined = _defined_checks()
    assert all(len(found) == 1 for found in defined.values()), defined
    assert {found[0] for found in defined.values()} == set(CHECKS.values())
    assert all(CHECKS[check.name] is check for check in CHECKS.values())


def test_every_check_is_reachable_documented_and_stored():
    (group,) = [g.typer_instance for g in app.registered_groups if g.name == "monitor"]
    cli = {c.name for c in group.registered_commands}
    table = (ROOT / "docs" / "monitor.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE))
    for name, check in CHECKS.items():
        assert callable(getattr(Monitor, name)), name
        assert name in cli, name
        assert name in rows, name
        assert name in STORED, name
        result = inspect.signature(check.run).return_annotation
        assert isinstance(result, str) and result.endswith("Result"), (name, result)
        results = [
            r
            for r in vars(importlib.import_module(check.__module__)).values()
            if inspect.isclass(r) and issubclass(r, CheckResult) and r is not CheckResult
        ]
        # a check may have a result per task (degradation: a regressor's is by absolute error)
        assert results and {r.check for r in results} == {name}, (name, results)
