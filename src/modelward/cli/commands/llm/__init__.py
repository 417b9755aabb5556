"""``modelward llm …``: the LLM fleet — providers, endpoint models, evaluation, comparison,
selection, routing, tuning, cost, the fake providers and the gateway. One module per part:
:mod:`.fleet` (endpoints, health, config), :mod:`.evaluation` (evaluate, compare, select,
tune), :mod:`.routes` (the routing table), :mod:`.spend` (cost, usage, alerts) and
:mod:`.servers` (fake providers, gateway)."""

from __future__ import annotations

import typer

from modelward.cli.app import new_typer
from modelward.cli.commands.llm import evaluation, fleet, routes, servers, spend


def register(app: typer.Typer) -> None:
    llm_app = new_typer("The LLM fleet: providers, endpoint models, evaluation, routing, gateway.")
    for part in (fleet, evaluation, routes, spend, servers):
        part.register(llm_app)
    app.add_typer(llm_app, name="llm")
