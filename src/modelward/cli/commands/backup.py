"""``modelward backup``, ``backup-verify`` and ``restore``: checksummed snapshots of a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json


@calls("modelward.create_backup")
def backup(
    out: Annotated[Path, typer.Option("--out", "-o", help="Archive to write (.tar.gz).")],
    include_weights: Annotated[
        bool, typer.Option("--include-weights", help="Also copy every referenced artifact.")
    ] = False,
    include_config: Annotated[
        bool, typer.Option("--include-config", help="Also copy the workspace's config files.")
    ] = False,
    no_logs: Annotated[
        bool,
        typer.Option("--no-logs", help="Leave out the prediction log and feedback."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Snapshot the metadata DB and the prediction log (consistent while the server runs),
    policy and artifacts."""
    workspace = state().workspace()
    with RichProgress() as progress:
        info = modelward.create_backup(
            workspace,
            out,
            include_weights=include_weights,
            include_config=include_config,
            include_logs=not no_logs,
            overwrite=force,
            progress=progress,
        )
    if as_json:
        print_json(info.to_dict())
        return
    rows = sum(info.tables.values())
    console.print(
        f"Backed up {rows} rows in {len(info.tables)} tables, {info.artifacts} artifacts, "
        f"{info.log_files} log files and {info.files} files in all to {info.path} "
        f"({info.bytes} bytes)"
    )
    if no_logs:
        console.print("  the prediction log is not included: leave out --no-logs to copy it")
    if not include_weights:
        console.print("  artifacts not included: add --include-weights to copy them")


@calls("modelward.verify_backup")
def backup_verify(
    file: Annotated[Path, typer.Argument(help="Backup archive to check.")],
    as_json: JsonOption = False,
) -> None:
    """Check every checksum of a backup archive without restoring it."""
    summary = modelward.verify_backup(file)
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{file}: {summary['files']} files verified (backup of {summary['created_at']}, "
        f"schema {summary['schema_revision']}, from {summary['dialect']})"
    )


@calls("modelward.restore_backup")
def restore(
    file: Annotated[Path, typer.Argument(help="Backup archive (from `modelward backup`).")],
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="New, empty folder for the workspace.")
    ],
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            help="Empty metadata DB to restore into (default: $MODELWARD_DB_URL, else SQLite).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify every checksum, then rebuild a workspace from a backup (never overwrites)."""
    with RichProgress() as progress:
        result = modelward.restore_backup(file, workspace, db_url=db_url, progress=progress)
    if as_json:
        print_json(result)
        return
    rows = sum(result["tables"].values())
    console.print(
        f"Restored {rows} rows, {result['artifacts']} artifacts and {result['log_files']} log "
        f"files into {result['workspace']}"
    )
    if result["replayed_rows"]:
        console.print(
            f"  {result['replayed_rows']} logged rows the server had not yet written as Parquet "
            "were written"
        )
    if result["missing_artifacts"]:
        console.print(
            f"  warning: {len(result['missing_artifacts'])} artifacts are not in the backup nor "
            "the artifact store; back up with --include-weights"
        )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("backup-verify")(backup_verify)
    app.command("restore")(restore)
