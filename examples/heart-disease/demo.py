"""The modelward demo: the heart-disease runbook, end to end, on the real UCI data.

    python examples/heart-disease/demo.py [WORKDIR]

`make demo` runs this file. Every step prints the `modelward` command it runs (the same
commands work in a shell) and what came out. The workspace is WORKDIR/workspace (a
temporary folder by default), kept afterwards, so you can explore it: the last lines say
how.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rich.rule import Rule

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the demos' shared helpers: examples/demokit.py

from demokit import Server, console, modelward, say, step, wait_for_log  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401

DATA = HERE / "heart.yml"
CONFIGS = HERE / "configs"
MODEL = "heart-disease"
# Exit codes the checks give on this data (1: a check found a problem, 2: a gate refused).
VALIDATE_EXIT = 1
GATE_EXIT = 2
METRICS_EXIT = 1
QUALITY_EXIT = 1
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip


def send_traffic(url: str, rows: pd.DataFrame, *, feedback: bool = True) -> int:
    """Predict every row over HTTP, then send the true labels as feedback."""
    import httpx
    import pandas as pd

    with httpx.Client(base_url=url, timeout=30) as http:
        answered, refused = [], []
        for _, row in rows.iterrows():
            inputs = {f: (None if pd.isna(row[f]) else float(row[f])) for f in FEATURES}
            reply = http.post(f"/v1/models/{MODEL}/predict", json={"inputs": inputs})
            if reply.status_code == 422:  # outside the input schema: logged as rejected
                refused.append(reply.json()["error"]["message"])
                continue
            reply.raise_for_status()
            answered.append((reply.json()["request_id"], str(int(row["target"]))))
        say(f"{len(answered)} predictions answered, {len(refused)} refused by the input schema")
        if refused:
            say(f"  e.g. {refused[0]}")
        if feedback:
            body = [{"request_id": rid, "label": label} for rid, label in answered]
            result = http.post("/v1/feedback", json=body).json()
            say(f"feedback: {result}")
    return len(answered)


def main() -> None:
    from modelward.data import read_data

    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    root = (workdir or Path(tempfile.mkdtemp(prefix="modelward-demo-"))) / "workspace"
    os.environ["MODELWARD_HOME"] = str(root)
    console.print("[bold]modelward demo[/bold]: the heart-disease runbook on the UCI data")
    say(f"workspace: {root} (SQLite metadata, local artifacts and logs)")
    spec = str(DATA)

    step("1. Create a workspace, with the team's policy (bias over sex and age bands)")
    modelward("init", str(root), "--policy", str(HERE / "policy.yml"))

    step("2. Validate the data")
    heart = read_data(spec)
    for site, part in heart.groupby("site"):
        say(f"  {site:12s} {len(part):4d} rows, disease rate {part.target.mean():.0%}")
    say("Cleveland alone is clean enough; all four hospitals miss many ca/thal/slope values:")
    modelward("data", "validate", f"{spec}#cleveland", "--check-missing")
    modelward("data", "validate", spec, "--check-missing", expect=1)

    step("3. Train from configs, register in development")
    modelward("train", "--config", str(CONFIGS / "logreg.yml"))
    modelward("train", "--config", str(CONFIGS / "forest.yml"))
    modelward("versions", "list", MODEL)

    step("4. Evaluate: cross-site, and the forest against the logistic regression")
    modelward("evaluate", MODEL, "1", "--data", f"{spec}#hungarian,va,switzerland", "--by", "site")
    modelward("evaluate", MODEL, "2", "--data", f"{spec}#hungarian", "--compare-baseline", "1")

    step("5. Test, validate, then move through the lifecycle gates")
    modelward("test-predictions", MODEL, "1", "--cases", str(HERE / "cases.yml"))
    modelward("validate", MODEL, "1", "--data", f"{spec}#hungarian", expect=VALIDATE_EXIT)
    modelward("transition", MODEL, "1", "--to", "testing", "--reason", "unit tests pass")
    modelward("transition", MODEL, "2", "--to", "testing", "--reason", "unit tests pass")
    say("The staging gate reads the validation; a failing check refuses the move:")
    modelward("transition", MODEL, "1", "--to", "staging", "--reason", "try", expect=GATE_EXIT)
    say("An override is possible, needs a reason, and is recorded as such:")
    modelward(
        "transition", MODEL, "1", "--to", "staging", "--force",
        "--reason", "demo: bias limits reviewed by the clinical lead",
    )  # fmt: skip

    step("6. Deploy (the replaced deployment is kept as the rollback target) and serve")
    modelward(
        "deploy", MODEL, "--version", "1", "--env", "production", "--force",
        "--reason", "demo: first release",
    )  # fmt: skip
    with Server(root) as server:
        say("Production traffic from the Hungarian hospital, then its true labels as feedback:")
        sent = send_traffic(server.url, heart[heart.site == "hungarian"])
        wait_for_log(root, MODEL, sent)

        step("7. Monitor: metrics on labelled traffic, drift against the training data")
        modelward("monitor", "metrics", MODEL, "--last", "1h", expect=METRICS_EXIT)
        modelward("monitor", "drift", MODEL, "--last", "1h", expect=1)
        modelward("monitor", "quality", MODEL, "--last", "1h", expect=QUALITY_EXIT)
        report = root.parent / "monitoring-report.html"
        modelward("report", MODEL, "--last", "1h", "--out", str(report))

        step("8. A canary rollout of version 2")
        modelward(
            "transition", MODEL, "2", "--to", "staging", "--force",
            "--reason", "demo: canary candidate",
        )  # fmt: skip
        say("Version 2 has no passing validation either; the canary is refused, then overridden:")
        modelward("rollout", "start", MODEL, "--version", "2", expect=2)
        modelward(
            "rollout", "start", MODEL, "--version", "2", "--force",
            "--reason", "demo: canary of the forest, bias review pending",
        )  # fmt: skip
        sent += send_traffic(server.url, heart[heart.site == "va"])
        wait_for_log(root, MODEL, sent)
        modelward("rollout", "run", "--once")
        modelward("rollout", "status", MODEL)
        modelward("deployments", "show", MODEL)

    step("9. Back up, clean up, document")
    backup = root.parent / "backup.tar.gz"
    modelward("backup", "--out", str(backup), "--include-weights")
    modelward("backup-verify", str(backup))
    modelward("clean", MODEL)
    modelward("lifecycle", "review", MODEL)
    modelward("card", MODEL, "1")

    step("10. The record")
    modelward("history", MODEL)

    console.print()
    console.print(Rule("[bold]done"))
    console.print(f"Explore the workspace:  export MODELWARD_HOME={root}")
    console.print(f"Then try:               modelward models show {MODEL}")
    console.print(f"Reports:                {root / 'reports'}, {root.parent}")
    console.print("The LLM runbook:        python examples/llm/demo.py")


if __name__ == "__main__":
    main()
