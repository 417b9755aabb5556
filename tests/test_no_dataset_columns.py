"""Nothing in src/ names a column of the example datasets: what modelward does with a
model comes from the model, its data and its policy, never from knowing the heart,
penguins or breast-cancer data. (Docstrings may use them as examples.)"""

from __future__ import annotations

import ast

import yaml

from conftest import ROOT

SRC = ROOT / "src" / "modelward"
#: Words that are also ordinary strings in code, not column names.
ORDINARY = {"target", "num"}  # "num": also a template filter's name


def _columns() -> set[str]:
    spec = yaml.safe_load((ROOT / "examples" / "heart-disease" / "heart.yml").read_text())
    names = set(spec.get("columns", []))
    for csv in ("penguins/data/penguins.csv", "breast-cancer/data/breast-cancer.csv"):
        names |= set((ROOT / "examples" / csv).read_text().splitlines()[0].split(","))
    return names - ORDINARY


def _strings(tree: ast.Module) -> set[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    }  # fmt: skip


def test_the_columns_the_checks_look_for_are_known():
    columns = _columns()
    assert {"chol", "thal", "island", "body_mass_g", "mean_radius", "diagnosis"} <= columns


def test_no_source_string_is_a_dataset_column():
    columns = _columns()
    found = {
        path.relative_to(SRC).as_posix(): sorted(_strings(ast.parse(path.read_text())) & columns)
        for path in SRC.rglob("*.py")
    }
    assert {path: names for path, names in found.items() if names} == {}
