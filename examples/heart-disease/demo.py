"""The modelward demo: the heart-disease runbook, end to end, on the real UCI data.

`make demo` runs this file. Every step prints the `modelward` command it runs (the same
commands work in a shell) and what came out. The workspace is a temporary folder that is
kept afterwards, so you can explore it: the last lines say how.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule

if TYPE_CHECKING:
    import pandas as pd  # noqa: F401

HERE = Path(__file__).resolve().parent
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

# soft_wrap: commands and paths stay on one line when the output is piped (80 columns)
console = Console(highlight=False, soft_wrap=True)


def step(title: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{title}"))


def say(text: str) -> None:
    console.print(f"[dim]{text}[/dim]")


def modelward(*args: str, expect: int = 0) -> int:
    """Run one `modelward` command in this process, echoing it first.

    ``expect`` is the exit code this step should give: 1 where a check is meant to find a
    problem (the demo shows what that looks like), 2 where a gate is meant to refuse.
    """
    from modelward.cli.main import app

    shown = " ".join(a if " " not in a and a else f'"{a}"' for a in args)
    console.print(f"[bold cyan]$ modelward {shown}[/bold cyan]")
    sys.stdout.flush()
    try:
        code = app(args=list(args), prog_name="modelward", standalone_mode=False) or 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    if code != expect:
        raise SystemExit(f"demo: `modelward {shown}` exited {code}, expected {expect}")
    if code:
        say(f"(exit {code}, as expected)")
    return int(code)


class Server:
    """`modelward serve` in a child process on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        import httpx

        command = [sys.executable, "-m", "modelward.cli.main", "serve", "--port", str(self.port)]
        console.print(f"[bold cyan]$ modelward serve --port {self.port} &[/bold cyan]")
        log = open(self.root.parent / "server.log", "wb")  # noqa: SIM115 - lives with the child
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    say(f"server ready on {self.url} (its JSON log: {log.name})")
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"demo: the server exited early; see {log.name}")
            time.sleep(0.2)
        raise SystemExit(f"demo: the server did not become ready; see {log.name}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # flushes the prediction log, then exits
            self.process.wait(timeout=30)


def wait_for_log(logs: Path, labelled: int) -> None:
    """The server writes the log off the request path (about every second): wait for it."""
    from modelward.predlog import labelled as labelled_rows

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if labelled_rows(str(logs), MODEL).count("*").fetchall()[0][0] >= labelled:
                return
        except Exception:  # noqa: BLE001 - no log file yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: the prediction log did not show {labelled} labelled rows")


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

    root = Path(tempfile.mkdtemp(prefix="modelward-demo-")) / "workspace"
    os.environ["MODELWARD_HOME"] = str(root)
    console.print("[bold]modelward demo[/bold]: the heart-disease runbook on the UCI data")
    say(f"workspace: {root} (SQLite metadata, local artifacts and logs)")
    spec = str(DATA)

    step("1. Create a workspace")
    modelward("init", str(root))

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
        wait_for_log(root / "logs", sent)

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
        wait_for_log(root / "logs", sent)
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
