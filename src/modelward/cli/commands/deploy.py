"""``modelward deploy``, ``rollback`` and ``deployments``: what serves each environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import ConfigError
from modelward.present import fmt_time

if TYPE_CHECKING:
    from modelward.deploy.deployments import DeploymentInfo

deployments_app = new_typer("Deployments: which versions serve each environment, and how much.")

EnvOption = Annotated[str, typer.Option("--env", "-e", help="Environment: staging or production.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; recorded in history.")]
RevisionOption = Annotated[
    int | None,
    typer.Option(
        "--expected-revision",
        help="Refuse the change unless the deployment is still at this revision.",
    ),
]


def _split(info: DeploymentInfo) -> str:
    total = sum(t.weight for t in info.targets) or 1.0
    return ", ".join(f"v{t.version} {100 * t.weight / total:g}%" for t in info.targets)


@calls("Workspace.deployments.deploy")
def deploy(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Option("--version", "-v", help="Version number or alias.")],
    env: EnvOption = "production",
    backup_current: Annotated[
        bool,
        typer.Option(
            "--backup-current/--no-backup-current",
            help="Keep the current deployment as the rollback target (default: yes).",
        ),
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Override failing gates and the artifact check (recorded, needs --reason).",
        ),
    ] = False,
    reason: ReasonOption = "",
    expected_revision: RevisionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send all traffic of an environment to one version (it enters that stage first)."""
    info = (
        state()
        .workspace()
        .deployments.deploy(
            name,
            version,
            env,
            reason=reason,
            force=force,
            backup=backup_current,
            expected_revision=expected_revision,
        )
    )
    if as_json:
        print_json(info.to_dict())
        return
    back = _split_targets(info.previous) if info.previous else "none"
    console.print(f"{name} {env} revision {info.revision}: {_split(info)} (rollback to: {back})")


def _split_targets(targets: object) -> str:
    return ", ".join(f"v{t.version}" for t in targets)  # type: ignore[attr-defined]


@calls("Workspace.deployments.rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOption = "production",
    reason: ReasonOption = "",
    expected_revision: RevisionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restore the deployment that was replaced last (its versions serve again)."""
    info = (
        state()
        .workspace()
        .deployments.rollback(name, env, reason=reason, expected_revision=expected_revision)
    )
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"{name} {env} rolled back, revision {info.revision}: {_split(info)}")


@deployments_app.command("list")
@calls("Workspace.deployments.list")
def deployments_list(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every deployment: model, environment, traffic split, revision."""
    found = state().workspace().deployments.list(name, env)
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    rows = [
        (
            d.model,
            d.environment,
            _split(d),
            _split_targets(d.previous) if d.previous else "",
            d.revision,
            fmt_time(d.updated_at),
            d.updated_by,
        )
        for d in found
    ]
    columns = ("model", "env", "traffic", "rollback to", "rev", "updated (UTC)", "by")
    console.print(table(columns, rows))


@deployments_app.command("show")
@calls(
    "Workspace.deployments.get",
    "Workspace.deployments.revisions",
    "Workspace.deployments.serving_paths",
)
def deployments_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOption = "production",
    as_json: JsonOption = False,
) -> None:
    """One deployment, the path each version serves on (ONNX or the pipeline, and why),
    and its history of changes."""
    deployments = state().workspace().deployments
    info = deployments.get(name, env)
    paths = deployments.serving_paths(name, env)
    events = deployments.revisions(name, env)
    if as_json:
        print_json({**info.to_dict(), "serving": paths, "history": [e.to_dict() for e in events]})
        return
    console.print(f"{name} {env} revision {info.revision}: {_split(info)}")
    for p in paths:
        why = f" ({p['reason']})" if p["reason"] else ""
        console.print(f"v{p['version']} serves on: {p['path']}{why}", markup=False)
    if info.previous:
        console.print(f"rollback target: {_split_targets(info.previous)}")
    rows = [
        (
            fmt_time(e.created_at),
            e.details.get("revision"),
            e.kind,
            ", ".join(f"v{t['version']}:{t['weight']:g}" for t in e.details.get("targets", [])),
            e.actor,
            e.reason,
        )
        for e in events
    ]
    console.print(table(("time (UTC)", "rev", "event", "targets", "by", "reason"), rows))


def _parse_target(text: str) -> tuple[int, float]:
    version, sep, weight = text.partition("=")
    if not sep or not version.strip().isdigit():
        raise ConfigError(
            f"--target {text!r} is not VERSION=WEIGHT; write e.g. --target 3=95 --target 4=5",
            field="target",
        )
    try:
        return int(version), float(weight)
    except ValueError as exc:
        raise ConfigError(
            f"--target {text!r}: weight {weight!r} is not a number; write e.g. --target 4=5",
            field="target",
        ) from exc


@deployments_app.command("set")
@calls("Workspace.deployments.set_targets")
def deployments_set(
    name: Annotated[str, typer.Argument(help="Model name.")],
    target: Annotated[
        list[str], typer.Option("--target", "-t", help="VERSION=WEIGHT (repeatable).")
    ],
    env: EnvOption = "production",
    reason: ReasonOption = "",
    backup_current: Annotated[
        bool,
        typer.Option(
            "--backup-current/--no-backup-current",
            help="Make the current split the rollback target (default: keep the old one).",
        ),
    ] = False,
    expected_revision: RevisionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set the traffic split by hand, e.g. --target 3=95 --target 4=5."""
    targets = [_parse_target(t) for t in target]
    info = (
        state()
        .workspace()
        .deployments.set_targets(
            name,
            env,
            targets,
            reason=reason,
            expected_revision=expected_revision,
            backup=backup_current,
        )
    )
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"{name} {env} revision {info.revision}: {_split(info)}")


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("rollback")(rollback)
    app.add_typer(deployments_app, name="deployments")
