"""``modelward data profile`` and ``data validate`` on the four hospitals' files."""

from __future__ import annotations

import pytest

from conftest import HEART_SPEC, ROOT

pytestmark = pytest.mark.sqlite_only

SPEC = str(HEART_SPEC)


def _findings(out, check, status=None):
    return {
        f["column"]: f
        for f in out["findings"]
        if f["check"] == check and (status is None or f["status"] == status)
    }


def test_swiss_zero_cholesterol_and_missing_values_are_reported(cli):
    ran = cli("data", "validate", f"{SPEC}#switzerland", "--json")
    assert ran.exit_code == 1
    out = ran.json
    zeros = _findings(out, "schema")
    assert "chol" in zeros and zeros["chol"]["value"] == 123
    assert "probably not measured" in zeros["chol"]["detail"]
    missing = _findings(out, "missing", "fail")
    assert {"ca", "thal", "slope"} <= set(missing)
    assert missing["ca"]["value"] == round(118 / 123, 4)
    assert out["verdict"] == "fail"
    assert "check failed" in ran.stderr and "missing ca" in ran.stderr


def test_zeros_among_real_values_are_flagged_as_missing_codes(cli):
    ran = cli("data", "validate", SPEC, "--json")
    zeros = _findings(ran.json, "schema")
    assert zeros["chol"]["value"] == 172  # Swiss 123 + VA 49
    assert "probably encodes a missing value" in zeros["chol"]["detail"]
    assert "sex" not in zeros and "target" not in zeros  # codes and labels are not flagged


def test_the_missing_rates_of_each_site(cli, heart):
    for site in ("hungarian", "va"):
        out = cli("data", "validate", f"{SPEC}#{site}", "--check-missing", "--json").json
        part = heart[heart.site == site]
        for column in ("ca", "thal", "slope"):
            finding = _findings(out, "missing")[column]
            assert finding["value"] == round(part[column].isna().mean(), 4)
            assert finding["status"] == "fail"


def test_cleveland_passes(cli, tmp_path):
    report = tmp_path / "data.html"
    ran = cli("data", "validate", f"{SPEC}#cleveland", "--report", report)
    assert ran.exit_code == 0, ran.stderr
    assert "verdict pass" in ran.stdout
    html = report.read_text()
    assert "Data validation" in html and "balance" in html


def test_balance_and_correlation_checks(cli, tmp_path, cleveland):
    leaky = cleveland.assign(leak=cleveland["target"] * 10 + 1, age2=cleveland["age"] * 2)
    path = tmp_path / "leaky.csv"
    leaky.to_csv(path, index=False)
    ran = cli("data", "validate", path, "--check-correlations", "--json")
    assert ran.exit_code == 1
    failed = _findings(ran.json, "correlations", "fail")
    assert "leak → target" in failed and "age ~ age2" in failed
    ran = cli("data", "validate", f"{SPEC}#switzerland", "--check-balance", "--json")
    balance = _findings(ran.json, "balance")["target"]
    assert balance["value"] == round(8 / 123, 4) and balance["status"] == "fail"


def test_against_a_version_counts_out_of_range_values(trained, cli):
    ran = cli("data", "validate", f"{SPEC}#switzerland", "--against", "heart-disease:1", "--json")
    ranges = _findings(ran.json, "range")
    assert ranges["chol"]["value"] == 123  # every Swiss 0 is below Cleveland's minimum
    dist = _findings(ran.json, "distributions")
    assert dist["chol"]["status"] == "warn"


def test_profile_shows_columns(cli):
    ran = cli("data", "profile", f"{SPEC}#switzerland", "--json")
    assert ran.exit_code == 0
    assert ran.json["columns"]["chol"]["zeros"] == 123
    assert ran.json["rows"] == 123
    table = cli("data", "profile", f"{SPEC}#switzerland", "--target", "target")
    assert "chol" in table.stdout and "target 0: 8, 1: 115" in table.stdout


def test_bad_inputs_exit_2(cli, tmp_path, workspace):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    cases = [
        (("data", "validate", tmp_path / "nope.csv"), "does not exist"),
        (("data", "validate", empty), "is empty"),
        (("data", "validate", f"{SPEC}#mars"), "no part 'mars'"),
        (("data", "validate", SPEC, "--against", "heart"), "is not NAME:VERSION"),
        (("data", "validate", SPEC, "--against", "nomodel:1"), "nomodel"),
        (("data", "validate", SPEC, "--target", "diagnosis"), "no target column 'diagnosis'"),
        (("data", "validate", SPEC, "--report", tmp_path / "r.txt"), "report is HTML"),
        (("data", "validate", SPEC, "--report", tmp_path / "no" / "r.html"), "does not exist"),
        (("data", "profile", tmp_path / "x.xlsx"), "unsupported suffix"),
    ]
    for args, message in cases:
        ran = cli(*args)
        assert ran.exit_code == 2, (args, ran.stderr)
        assert message in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.txt").exists()


def test_parquet_and_csv_give_the_same_findings(cli, heart, tmp_path):
    swiss = heart[heart.site == "switzerland"].drop(columns="site")
    swiss.to_parquet(tmp_path / "swiss.parquet")
    swiss.to_csv(tmp_path / "swiss.csv", index=False)
    a = cli("data", "validate", tmp_path / "swiss.parquet", "--json").json
    b = cli("data", "validate", tmp_path / "swiss.csv", "--json").json
    assert a["failed"] == b["failed"] and a["failed"]
    assert _findings(a, "schema")["chol"]["value"] == 123


def test_a_continuous_target_is_not_checked_for_class_balance(cli):
    """Penguins' body mass as the target: a regression target has no minority class."""
    penguins = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
    ran = cli(
        "data", "validate", penguins, "--target", "body_mass_g", "--check-balance", "--json"
    )  # fmt: skip
    (balance,) = [f for f in ran.json["findings"] if f["check"] == "balance"]
    assert balance["status"] == "pass" and "class balance does not apply" in balance["detail"]
    species = cli("data", "validate", penguins, "--target", "species", "--json").json
    (classes,) = [f for f in species["findings"] if f["check"] == "balance"]
    assert "Adelie: 152" in classes["detail"]  # a string label is still a class
