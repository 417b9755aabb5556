"""``modelward env check``: CPU, memory, disk, GPU (said plainly when there is none),
package versions."""

from __future__ import annotations

from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import CheckFailed

env_app = new_typer("The machine models are trained and served on.")


@env_app.command("check")
@calls("modelward.environment_report")
def check(
    gpu: Annotated[bool, typer.Option("--gpu", help="Require a GPU (exit 1 without one).")] = False,
    memory: Annotated[
        bool, typer.Option("--memory", help="Show swap too; require 1 GB of free memory.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Report the environment; exit 1 when a requested requirement is not met."""
    where = state().workspace_path
    report = modelward.environment_report(
        where if where is not None and where.is_dir() else ".", gpu=gpu, memory=memory
    )
    if as_json:
        print_json(report)
    else:
        cpu, mem, disk = report["cpu"], report["memory"], report["disk"]
        rows = [
            ("python", report["python"]),
            ("platform", report["platform"]),
            (
                "cpu",
                f"{cpu['logical']} logical / {cpu['physical']} physical cores"
                + (f", {cpu['usable']} usable by this process" if cpu["usable"] else ""),
            ),
            (
                "memory",
                f"{mem['available_gb']} GB available of {mem['total_gb']} GB"
                + (f"; swap {mem['swap_used_gb']}/{mem['swap_total_gb']} GB" if memory else ""),
            ),
            ("disk", f"{disk['free_gb']} GB free of {disk['total_gb']} GB at {disk['path']}"),
            ("gpu", report["gpu"]["summary"]),
        ]
        console.print(table(("what", "value"), rows, title="environment"))
        console.print(
            table(
                ("package", "version"),
                [(k, v or "not installed") for k, v in report["packages"].items()],
            )
        )
        for c in report["checks"]:
            mark = "pass" if c["passed"] else "FAIL"
            console.print(f"{mark}: {c['name']} ({c['value']}, needs {c['threshold']})")
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        raise CheckFailed(
            "; ".join(f"{c['name']}: {c['value']} (needs {c['threshold']})" for c in failed)
            + (
                " — no GPU found on this machine"
                if any(c["name"] == "GPU present" for c in failed)
                else ""
            )
        )


def register(app: typer.Typer) -> None:
    app.add_typer(env_app, name="env")
