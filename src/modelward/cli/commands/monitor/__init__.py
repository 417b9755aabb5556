"""``modelward monitor …``, ``modelward report`` and ``modelward runbook …``: the checks
over the prediction log, alerts, history, reports and the runbook's checklists.

Each command parses its options, calls one function of ``ws.monitor``
(:class:`modelward.monitoring.Monitor`) and prints the typed result it returns
(:mod:`.show`): the checks are :mod:`.checks`, the rest :mod:`.runs`.
"""

from __future__ import annotations

import typer

from modelward.cli.commands.monitor import checks, runs
from modelward.cli.commands.monitor.common import monitor_app

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    checks.define()
    runs.define()
    app.add_typer(monitor_app, name="monitor")
    app.command("report")(runs.report_cmd)
    app.add_typer(runs.runbook_app, name="runbook")
