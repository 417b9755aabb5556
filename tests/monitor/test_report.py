from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from tests.monitor.conftest import END, UNTIL

pytestmark = pytest.mark.sqlite_only


def test_report_is_self_contained_html_and_json(served, cli, tmp_path):
    out = tmp_path / "week.html"
    ran = cli("report", "heart", "--last", "7d", "--until", UNTIL, "--include-plots", "--out", out)
    assert ran.exit_code == 0, ran.stderr
    html = out.read_text()
    data = json.loads(out.with_suffix(".json").read_text())
    # opens offline: no external resources, figures embedded
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "<script" not in html
    assert html.count("data:image/png;base64,") >= 13  # 5 metric series + 13 drift histograms
    # the same content in both
    assert set(data["checks"]) == {"metrics", "drift", "quality", "degradation"}
    assert "chol" in data["checks"]["drift"]["results"]["features"]
    days = [p["start"][:10] for p in data["series"]["points"]]
    assert days == sorted(days) and len(days) == 4
    swiss = data["series"]["points"][2]
    assert swiss["rows"] == len(served.days["switzerland"])
    assert swiss["metrics"]["accuracy"]["value"] < 0.8
    assert "threshold 0.8" in html or "(≥ 0.8)" in html
    for feature in ("ca", "thal", "chol"):
        assert f"<td>{feature}</td>" in html
    # a report describes: it neither records the checks one by one nor raises alerts
    kinds = [r.kind for r in served.ws.registry.list_runs(model="heart")]
    assert kinds == ["monitor-report"]
    assert cli("monitor", "alerts", "--json").json == []


def test_report_without_plots_and_json(served, cli, tmp_path):
    out = tmp_path / "r"
    body = cli("report", "heart", "--until", UNTIL, "--no-plots", "--out", out, "--json").json
    html = (tmp_path / "r.html").read_text()
    assert "data:image/png" not in html
    assert body["files"]["json"].endswith("r.json") and body["verdict"] == "fail"


def test_a_temp_directory_without_room_for_the_template_cache_still_reports(
    served, cli, tmp_path, monkeypatch
):
    """The compiled template is cached in the user's folder of the temp directory; where
    that folder cannot be made, the report is compiled afresh, the same."""
    import tempfile

    from modelward.monitoring import report

    args = ("report", "heart", "--until", UNTIL, "--no-plots", "--out")
    assert cli(*args, tmp_path / "cached.html").exit_code == 0
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))  # no folder can be made in it
    report._bytecode_cache.cache_clear()  # made once a process: made again here
    ran = cli(*args, tmp_path / "fresh.html")
    assert ran.exit_code == 0, ran.stderr
    report._bytecode_cache.cache_clear()  # the next test's reports cache again
    cached, fresh = ((tmp_path / f"{n}.html").read_text() for n in ("cached", "fresh"))
    assert re.sub(r"generated[^<]*", "", cached) == re.sub(r"generated[^<]*", "", fresh)


def test_daily_runbook_items_and_report(served, cli, tmp_path):
    out = tmp_path / "daily.html"
    ran = cli("runbook", "daily", "heart", "--until", UNTIL, "--out", out, "--json")
    assert ran.exit_code == 1  # VA's day breaches accuracy and missing values
    body = ran.json
    items = [i["item"] for i in body["items"]]
    assert items == ["compact", "metrics", "predictions", "quality", "alerts"]
    verdicts = {i["item"]: i["verdict"] for i in body["items"]}
    assert verdicts["metrics"] == "fail" and verdicts["quality"] == "fail"
    assert verdicts["alerts"] in ("fail", "warn")  # the day's own breaches are open alerts
    html = out.read_text()
    assert "Runbook: daily" in html and "metrics" in html
    run = served.ws.registry.list_runs(model="heart", kinds=["runbook"])[0]
    assert run.verdict == "fail" and run.results["files"]["html"] == str(out)
    stored = {r.kind for r in served.ws.registry.list_runs(model="heart")}
    assert {"monitor-metrics", "monitor-predictions", "monitor-quality", "runbook"} <= stored
    assert "metrics:" in ran.stderr


def test_weekly_and_monthly_runbooks(served, cli, tmp_path):
    weekly = cli(
        "runbook", "weekly", "heart", "--until", UNTIL, "--out", tmp_path / "w.html", "--json"
    ).json
    items = {i["item"]: i for i in weekly["items"]}
    assert set(items) == {"metrics", "drift", "quality", "degradation", "report", "backup"}
    assert items["drift"]["verdict"] == "fail"
    assert items["backup"]["verdict"] == "pass"
    from modelward.backup.archive import verify_backup

    (backup,) = (served.ws.root / "backups").glob("weekly-*.tar.gz")
    assert str(backup) in items["backup"]["detail"]
    verify_backup(backup)  # raises on a missing or corrupted file
    monthly = cli(
        "runbook", "monthly", "heart", "--until", UNTIL, "--out", tmp_path / "m.html", "--json"
    ).json
    items = {i["item"]: i for i in monthly["items"]}
    assert items["baseline"]["proposal"] == "retrain"  # drifted and failing
    assert items["retention"]["verdict"] == "pass"


def test_no_plots_writes_the_same_runbook_without_its_figures(served, cli, tmp_path):
    drawn, bare = tmp_path / "drawn.html", tmp_path / "bare.html"
    with_plots = cli("runbook", "daily", "heart", "--until", UNTIL, "--out", drawn, "--json")
    without = cli("runbook", "daily", "heart", "--until", UNTIL, "--out", bare, "--json",
                  "--no-plots")  # fmt: skip
    assert without.exit_code == with_plots.exit_code == 1
    verdicts = [(i["item"], i["verdict"]) for i in without.json["items"]]
    assert verdicts == [(i["item"], i["verdict"]) for i in with_plots.json["items"]]
    assert "data:image/png" in drawn.read_text()
    html = bare.read_text()
    assert "Runbook: daily" in html and "data:image/png" not in html


def test_runbook_for_every_model_and_bad_input(served, cli):
    ran = cli("runbook", "daily", "--until", UNTIL)
    assert ran.exit_code == 1 and "heart" in ran.stdout
    ran = cli("runbook", "daily", "nope")
    assert ran.exit_code == 2 and "nope" in ran.stderr
    (served.ws.root / "policy.yml").write_text(
        "version: 1\nmonitoring:\n  daily: [metrics, coffee]\n", encoding="utf-8"
    )
    ran = cli("runbook", "daily", "heart", "--until", UNTIL)
    assert ran.exit_code == 2 and "unknown item(s) coffee" in ran.stderr


@pytest.mark.parametrize("last", ["1h"])
def test_report_of_an_empty_window(served, cli, tmp_path, last):
    until = (END + timedelta(days=40)).isoformat()
    ran = cli("report", "heart", "--last", last, "--until", until, "--out", tmp_path / "e.html")
    assert ran.exit_code == 0
    assert "insufficient" in ran.stdout
