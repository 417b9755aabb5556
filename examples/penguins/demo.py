"""The demo's second act: a multiclass model (Palmer penguins' species) through the same
runbook — train, validate, the lifecycle gates (no override needed), serve over HTTP with
string categories and missing values, feedback, and monitoring.

`make demo` runs this after the heart-disease act. Every step prints the `modelward` command
it runs; the workspace is a temporary folder that is kept afterwards.
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
    import pandas as pd

DATA = HERE / "data" / "penguins.csv"
MODEL = "penguins"
INPUTS = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def send_traffic(url: str, rows: pd.DataFrame) -> int:
    """Predict every row over HTTP (nulls where the data has none), then send the species."""
    import httpx
    import pandas as pd

    with httpx.Client(base_url=url, timeout=30) as http:
        answered = []
        for _, row in rows.iterrows():
            inputs = {f: (None if pd.isna(row[f]) else row[f]) for f in INPUTS}
            reply = http.post(f"/v1/models/{MODEL}/predict", json={"inputs": inputs})
            reply.raise_for_status()
            answered.append((reply.json()["request_id"], row["species"]))
        missing = int(rows[INPUTS].isna().any(axis=1).sum())
        say(f"{len(answered)} predictions answered ({missing} rows with a missing input)")
        last = reply.json()
        say(f"  the last answer: {last['prediction']}, probabilities {last['probabilities']}")
        body = [{"request_id": rid, "label": label} for rid, label in answered]
        say(f"feedback: {http.post('/v1/feedback', json=body).json()}")
    return len(answered)


def main() -> None:
    import pandas as pd

    root = Path(tempfile.mkdtemp(prefix="modelward-penguins-")) / "workspace"
    os.environ["MODELWARD_HOME"] = str(root)
    console.print("[bold]modelward demo, act 2[/bold]: a multiclass model, the Palmer penguins")
    say(f"workspace: {root}")
    data = str(DATA)
    penguins = pd.read_csv(DATA)
    say("its policy has a section for this model: fairness over island and sex")
    modelward("init", str(root), "--policy", str(HERE / "policy.yml"))

    step("1. The data: three species, string categories, missing values")
    modelward("data", "validate", data, "--target", "species", "--check-balance")

    step("2. Train from a config (task: multiclass), evaluate per class")
    modelward("train", "--config", str(HERE / "configs" / "species.yml"))
    modelward("evaluate", MODEL, "1", "--data", data)

    step("3. Cases, validation, and the gates: they pass without an override")
    modelward("test-predictions", MODEL, "1", "--cases", str(HERE / "cases.yml"))
    modelward("validate", MODEL, "1", "--data", data)
    modelward("transition", MODEL, "1", "--to", "testing", "--reason", "cases pass")
    modelward("transition", MODEL, "1", "--to", "staging", "--reason", "validation passed")
    modelward("deploy", MODEL, "--version", "1", "--env", "production", "--reason", "first")

    step("4. Serve: every class's probability; rows with missing sex or measurements")
    with Server(root) as server:
        sent = send_traffic(server.url, penguins)
        wait_for_log(root, MODEL, sent)

        step("5. Monitor with the multiclass metrics and thresholds")
        modelward("monitor", "metrics", MODEL, "--last", "1h")
        modelward("monitor", "quality", MODEL, "--last", "1h")
        modelward("monitor", "drift", MODEL, "--last", "1h")

    console.print()
    console.print(Rule("[bold]done"))
    console.print(f"Explore the workspace:  export MODELWARD_HOME={root}")
    console.print(f"Then try:               modelward versions show {MODEL} 1")


if __name__ == "__main__":
    main()
