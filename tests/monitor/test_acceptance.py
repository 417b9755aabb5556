"""The real-data acceptance story: a Cleveland-trained model is served; held-out Cleveland
rows arrive first, then Hungarian, Swiss and VA rows, with their labels as feedback.
The checks must flag what is really in the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import FEATURES
from tests.monitor.conftest import DAYS, END

pytestmark = pytest.mark.sqlite_only


def _until(site: str) -> str:
    return (END - timedelta(days=DAYS[site] - 1)).isoformat()


def test_the_checks_flag_what_is_really_there(served, cli):
    missing_flagged = {}
    accuracy = {}
    for site in ("cleveland", "hungarian", "switzerland", "va"):
        quality = cli("monitor", "quality", "heart", "--until", _until(site), "--json")
        missing_flagged[site] = {
            f
            for f in FEATURES
            if any(b.startswith(f"{f} missing") for b in quality.json["breaches"])
        }
        expected = {f for f in FEATURES if served.days[site][f].isna().mean() >= 0.05}
        assert missing_flagged[site] == expected, site
        if site == "switzerland":
            assert any("chol:" in b and "are 0" in b for b in quality.json["breaches"])
        metrics = cli("monitor", "metrics", "heart", "--until", _until(site), "--json").json
        accuracy[site] = metrics["results"]["versions"]["v1"]["metrics"]["accuracy"]["value"]
    assert missing_flagged["cleveland"] == set()
    assert {"ca", "thal", "slope"} <= missing_flagged["hungarian"]
    assert {"ca", "thal", "slope"} <= missing_flagged["va"]
    # the per-period accuracy change: Cleveland holds up, the other hospitals fall below
    assert accuracy["cleveland"] >= 0.80
    assert min(accuracy["hungarian"], accuracy["switzerland"], accuracy["va"]) < 0.80
    # and the drift check sees the other hospitals move away from the reference
    drift = cli("monitor", "drift", "heart", "--until", _until("switzerland"), "--json").json
    assert "chol" in drift["results"]["drifted"]
