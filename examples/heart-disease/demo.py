"""The modelward demo: the heart-disease runbook, end to end, on the real UCI data.

`make demo` runs this file. Every step prints the `modelward` command it runs (the same
commands work in a shell) and what came out. The workspace is a temporary folder that is
kept afterwards, so you can explore it: the last lines say how.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

HERE = Path(__file__).resolve().parent
DATA = HERE / "heart.yml"
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip

console = Console(highlight=False)


def step(title: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{title}"))


def say(text: str) -> None:
    console.print(f"[dim]{text}[/dim]")


def modelward(*args: str, expect: int = 0) -> int:
    """Run one `modelward` command in this process, echoing it first."""
    from modelward.cli.main import app

    shown = " ".join(a if " " not in a else f'"{a}"' for a in args)
    console.print(f"[bold cyan]$ modelward {shown}[/bold cyan]")
    sys.stdout.flush()
    code = app(args=list(args), prog_name="modelward", standalone_mode=False) or 0
    if code != expect:
        raise SystemExit(f"demo: `modelward {shown}` exited {code}, expected {expect}")
    return int(code)


def train_two_pipelines(workspace_root: Path) -> None:
    """Two small scikit-learn pipelines on the Cleveland data, registered from Python."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from modelward import Workspace
    from modelward.data import read_data

    cleveland = read_data(f"{DATA}#cleveland")
    X, y = cleveland[FEATURES], cleveland["target"]
    pipelines = {
        "logistic regression": LogisticRegression(max_iter=1000),
        "random forest": RandomForestClassifier(n_estimators=100, max_depth=5, random_state=0),
    }
    with Workspace.open(workspace_root) as ws:
        for label, estimator in pipelines.items():
            pipeline = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median")),
                    ("scale", StandardScaler()),
                    ("model", estimator),
                ]
            ).fit(X, y)
            info = ws.register(
                "heart-disease",
                pipeline,
                data=cleveland[[*FEATURES, "target"]],
                target="target",
                description="Predicts heart disease (num > 0) from 13 clinical features.",
                tags={"estimator": label, "data": "uci-heart-disease#cleveland"},
            )
            say(f"registered {info.ref} ({label}), sha256 {info.sha256[:12]}…, in {info.stage}")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="modelward-demo-")) / "workspace"
    os.environ["MODELWARD_HOME"] = str(root)
    console.print("[bold]modelward demo[/bold]: the heart-disease runbook on the UCI data")
    say(f"workspace: {root} (SQLite metadata, local artifacts and logs)")

    step("1. Create a workspace")
    modelward("init", str(root))

    step("2. Look at the data")
    say("The UCI heart-disease data: four hospitals, 920 patients, 13 features, '?' = missing.")
    from modelward.data import read_data

    heart = read_data(DATA)
    for site, part in heart.groupby("site"):
        say(f"  {site:12s} {len(part):4d} rows, disease rate {part.target.mean():.0%}")

    step("3. Train two pipelines on Cleveland and register them")
    train_two_pipelines(root)
    modelward("models", "list")
    modelward("versions", "list", "heart-disease")

    step("4. Move them through the lifecycle")
    modelward("transition", "heart-disease", "1", "--to", "testing", "--reason", "smoke tests")
    modelward("transition", "heart-disease", "2", "--to", "testing", "--reason", "smoke tests")
    say("Staging needs a passing validation; version 2 has none yet, so the gate refuses:")
    modelward("transition", "heart-disease", "2", "--to", "staging", "--reason", "try", expect=2)
    say("An override is possible, and recorded as such:")
    modelward(
        "transition", "heart-disease", "2", "--to", "staging",
        "--reason", "demo: skipping validation on purpose", "--force",
    )  # fmt: skip
    modelward("alias", "set", "heart-disease", "challenger", "2", "--reason", "demo")
    modelward("versions", "show", "heart-disease", "challenger")

    step("5. The record")
    modelward("history", "heart-disease")

    console.print()
    console.print(Rule("[bold]done"))
    console.print(f"Explore the workspace:  export MODELWARD_HOME={root}")
    console.print("Then try:               modelward models show heart-disease")


if __name__ == "__main__":
    main()
