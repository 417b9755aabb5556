"""Monitoring fixtures: a Cleveland-trained model "served" to four hospitals.

Timeline (``END`` is fixed so tests pass ``--until``):
day END-4d: held-out Cleveland rows · END-3d: Hungarian · END-2d: Switzerland · END-1d: VA.
Every prediction is the registered model's real output; feedback carries the true labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from tests.conftest import FEATURES, make_pipeline
from tests.monitor.logdata import traffic, write_traffic
from tests.receiver import Hook

END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
UNTIL = END.isoformat()
DAYS = {"cleveland": 4, "hungarian": 3, "switzerland": 2, "va": 1}


@dataclass
class Served:
    ws: object
    name: str
    flavor: object
    train: pd.DataFrame
    days: dict[str, pd.DataFrame]  # site -> the rows served that day
    preds: dict[str, pd.DataFrame]


def serve_day(
    ws,
    name,
    flavor,
    rows,
    *,
    days_before: int,
    version: int = 1,
    seed: int = 0,
    label_share: float = 1.0,
):
    start = END - timedelta(days=days_before)
    spacing = timedelta(seconds=max(1, int(86000 / max(len(rows), 1))))
    pred, feedback = traffic(
        flavor,
        rows,
        start=start,
        spacing=spacing,
        version=version,
        seed=seed,
        label_share=label_share,
    )
    write_traffic(ws.logs_url, name, pred, feedback)
    return pred, feedback


@pytest.fixture
def served(workspace, heart):
    cleveland = heart[heart.site == "cleveland"].drop(columns="site").reset_index(drop=True)
    train = cleveland.sample(frac=2 / 3, random_state=0)
    held_out = cleveland.drop(train.index)
    model = make_pipeline("logreg").fit(train[FEATURES], train["target"])
    workspace.register("heart", model, data=train, target="target")
    flavor = workspace.load_model("heart", 1)
    days = {"cleveland": held_out.reset_index(drop=True)}
    for site in ("hungarian", "switzerland", "va"):
        days[site] = heart[heart.site == site].drop(columns="site").reset_index(drop=True)
    preds = {}
    for i, (site, rows) in enumerate(days.items()):
        preds[site], _ = serve_day(workspace, "heart", flavor, rows, days_before=DAYS[site], seed=i)
    return Served(workspace, "heart", flavor, train, days, preds)


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


def set_policy(ws, **sections) -> None:
    """Rewrite the workspace's policy.yml with these sections changed."""
    from modelward.policy import Policy, dump_policy

    policy = Policy.model_validate({**ws.policy.model_dump(), **sections})
    (ws.root / "policy.yml").write_text(dump_policy(policy), encoding="utf-8")
    ws.__dict__.pop("policy", None)
