"""The house's layers, read from the source: the workspace alone spells its file names, the
reports do not import the CLI, imports run one way, and the CLI starts without the heavy
stack. (docs/development.md draws the layers.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator

from conftest import ROOT
from modelward.workspace.layout import Layout

SRC = ROOT / "src" / "modelward"
#: Words that are also plain English, JSON keys or alert keys ("artifacts" in a backup
#: manifest): they count only where they build a path (``root / "logs"``, ``"logs/x"``).
COMMON = {Layout.ARTIFACTS, Layout.LOGS, Layout.QUARANTINE, Layout.CACHE}
NAMES = {v for k, v in vars(Layout).items() if k.isupper() and isinstance(v, str)}

#: Files of other work in flight (issue 14) that still spell a name; each entry must still
#: spell it (so the list shrinks as they are finished, and cannot go stale).
PENDING: dict[str, set[str]] = {}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _path_operands(tree: ast.Module) -> set[int]:
    """Constants that build a path: either side of ``/``, or an argument of Path()."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found.update(id(side) for side in (node.left, node.right))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("Path", "joinpath", "join", "with_name"):
                found.update(id(arg) for arg in node.args)
    return found


def spelled_names(tree: ast.Module) -> set[str]:
    """The workspace's file names a module spells: as a whole string, or as a segment of a
    path-like one (``"cache/onnx"``), outside docstrings and prose."""
    skip, paths = _docstrings(tree), _path_operands(tree)
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in skip:
            continue
        text = node.value
        segments = set(text.strip("/").split("/")) if " " not in text else set()
        for name in NAMES & segments:
            if name not in COMMON or id(node) in paths or "/" in text:
                out.add(name)
    return out


def test_only_the_workspace_spells_its_file_names():
    spelled = {
        module: names
        for module, tree in _modules()
        if not module.startswith("workspace/") and (names := spelled_names(tree))
    }
    unexpected = {m: n - PENDING.get(m, set()) for m, n in spelled.items()}
    assert not {m: n for m, n in unexpected.items() if n}, "ask workspace.layout instead"
    stale = {m: n - spelled.get(m, set()) for m, n in PENDING.items()}
    assert not {m: n for m, n in stale.items() if n}, "done: remove them from PENDING"


def test_the_check_sees_a_spelled_name():
    tree = ast.parse('out = ws.root / "reports" / name\nurl = f"{root}/wal/x"\nkey = {"logs": 1}')
    assert spelled_names(tree) == {"reports", "wal"}


#: Still importing the CLI's formatting (issue 14 work in flight): modelward.present has it.
PENDING_CLI: set[str] = set()


def test_reports_and_the_library_do_not_import_the_cli():
    offenders = {
        module
        for module, tree in _modules()
        if not module.startswith("cli/")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("modelward.cli")
    }
    assert offenders - PENDING_CLI == set(), "import modelward.present, not the CLI"
    assert PENDING_CLI - offenders == set(), "done: remove it from PENDING_CLI"


#: What a command module imports (besides Typer, Rich and the standard library): the CLI's
#: helpers, the error tree, presentation, and the ``modelward`` package, whose public API
#: loads on first use. Everything else a command reaches through that API.
CLI_MAY_IMPORT = (
    "modelward", "modelward.cli", "modelward.errors", "modelward.present", "modelward.timeutil",
    "modelward.redact",
)  # fmt: skip
#: Command modules of work in flight that still import below the API (none today).
PENDING_THIN: set[str] = set()


def _runtime_imports(tree: ast.AST) -> Iterator[str]:
    """Modules imported at run time (anywhere, but not under ``if TYPE_CHECKING``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.ImportFrom):
            yield node.module or ""
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        yield from _runtime_imports(node)


def test_command_modules_reach_the_library_only_through_the_api():
    below = {
        module: sorted(
            name
            for name in _runtime_imports(tree)
            if name.startswith("modelward")
            and not any(name == ok or name.startswith(f"{ok}.") for ok in CLI_MAY_IMPORT[1:])
            and name != "modelward"
        )
        for module, tree in _modules()
        if module.startswith("cli/commands/")
    }
    offenders = {m: names for m, names in below.items() if names and m not in PENDING_THIN}
    assert offenders == {}, "call modelward.<public API> (add it there) instead"
    assert all(below[m] for m in PENDING_THIN), "done: remove it from PENDING_THIN"


#: What a CLI start-up must not load: the scientific stack, the metadata DB's ORM, the
#: HTTP stacks. ``modelward --help`` loads the command modules and nothing below them.
HEAVY = (
    "numpy", "pandas", "scipy", "sklearn", "pyarrow", "duckdb", "matplotlib", "onnxruntime",
    "sqlalchemy", "httpx", "starlette", "uvicorn", "fsspec", "optuna", "fairlearn", "jinja2",
)  # fmt: skip


def test_the_cli_starts_without_the_heavy_stack():
    code = (
        "import sys\nimport modelward.cli.main\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def _imports(tree: ast.Module) -> set[str]:
    """The modelward modules (and names in them) a file imports: anywhere in the file, type-only
    ones too (the project imports absolutely)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("modelward"):
            out.add(str(node.module))
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("modelward"))
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the modelward modules it imports."""
    trees = {
        "modelward." + module.removesuffix(".py").removesuffix("/__init__").replace("/", "."): tree
        for module, tree in _modules()
    }
    trees["modelward"] = trees.pop("modelward.__init__")
    return {
        name: {i for i in _imports(tree) if i in trees} - {name} for name, tree in trees.items()
    }


def cycles(graph: dict[str, set[str]], leave_out: set[str]) -> list[set[str]]:
    """Strongly connected components of more than one module, without ``leave_out``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node] - leave_out:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(set(graph) - leave_out):
        if node not in index:
            visit(node)
    return found


#: The deliberate facade: the workspace (and the package's lazy re-exports) hand out the
#: subsystems that take a Workspace, so those import it back (for its type).
FACADE = {"modelward", "modelward.workspace", "modelward.workspace.workspace"}
#: Cycles of work in flight (none today).
PENDING_CYCLES: list[set[str]] = []


def test_imports_run_one_way_but_for_the_workspace_facade():
    found = cycles(import_graph(), FACADE)
    assert [c for c in found if c not in PENDING_CYCLES] == []
    assert [c for c in PENDING_CYCLES if c not in found] == [], "fixed: drop it from PENDING"


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph, set()) == [{"a", "b", "c"}]
    assert cycles(graph, {"c"}) == []
