"""A window whose files hold no row the check asks for (another environment's only, say):
each check says there were no predictions, as on a window with no files, instead of
stopping on the empty counts (DuckDB 2's ``count_if`` is NULL over no rows)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.monitor.conftest import END


@pytest.mark.parametrize("check", ["predictions", "metrics", "drift", "quality"])
def test_a_check_on_files_without_a_row_of_its_environment(served, cli, check):
    until = (END - timedelta(days=1)).isoformat()
    ran = cli("monitor", check, "heart", "--until", until, "--last", "7d", "--env", "staging",
              "--json")  # fmt: skip
    assert ran.exit_code == 1 and ran.json["verdict"] == "insufficient", ran.stderr
    assert "no predictions in" in ran.stderr and "Traceback" not in ran.stderr
    production = cli("monitor", check, "heart", "--until", until, "--last", "7d", "--json")
    assert production.json["verdict"] != "insufficient"  # the window has rows, not these
