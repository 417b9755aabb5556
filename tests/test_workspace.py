"""Creating and finding workspaces; refusing ones we cannot or must not open."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelward import Policy, Workspace


def test_init_creates_db_folders_and_the_runbook_policy(cli, tmp_path: Path):
    root = tmp_path / "ws"
    ran = cli("init", root)
    assert ran.exit_code == 0, ran.stderr
    assert (root / "modelward.db").is_file()
    assert (root / "artifacts").is_dir() and (root / "logs").is_dir()
    policy = yaml.safe_load((root / "policy.yml").read_text())
    assert policy["thresholds"] == {
        "accuracy": 0.80,
        "roc_auc": 0.85,
        "f1": 0.75,
        "precision": 0.80,
        "recall": 0.75,
        "use_lower_ci": False,
        "min_labels": 30,
        "multiclass": Policy().thresholds.multiclass.model_dump(),
        "regression": {"r2_min": 0.5, "mae_max": None, "rmse_max": None, "mape_max": None},
    }
    assert policy["data"]["max_missing_rate"] == 0.05
    assert policy["drift"]["max_drifted_share"] == 0.10
    assert [s["weight"] for s in policy["rollout"]["stages"]] == [5, 25, 50, 100]
    assert policy["rollout"]["max_error_rate"] == 0.05
    assert policy["retention"]["keep_last"] == 5 and policy["retention"]["keep_best"] == 2


def test_init_refuses_an_existing_workspace_and_changes_nothing(cli, tmp_path: Path):
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    (root / "policy.yml").write_text((root / "policy.yml").read_text() + "# mine\n")
    before = (root / "policy.yml").read_text()
    ran = cli("init", root)
    assert ran.exit_code == 2
    assert ran.stderr.strip().count("\n") == 0
    assert "already exists" in ran.stderr and "nothing was changed" in ran.stderr
    assert (root / "policy.yml").read_text() == before


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("MODELWARD_LOGS", "s3://", "names no bucket"),
        ("MODELWARD_LOGS", "s3:///logs", "names no bucket"),
        ("MODELWARD_ARTIFACTS", "s3://Not_A_Bucket/models", "is not an S3 bucket name"),
    ],
)
def test_init_refuses_object_storage_it_could_never_reach(
    cli, tmp_path, monkeypatch, variable, value, said
):
    monkeypatch.setenv(variable, value)
    ran = cli("init", tmp_path / "ws")
    assert ran.exit_code == 2 and said in ran.stderr and variable in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ws").exists()  # nothing made


def test_a_command_outside_any_workspace_says_how_to_make_one(cli, tmp_path: Path):
    ran = cli("models", "list")
    assert ran.exit_code == 2
    assert "no modelward workspace" in ran.stderr and "modelward init" in ran.stderr


@pytest.mark.parametrize("how", ["flag", "env", "cwd"])
def test_the_workspace_is_found_by_flag_env_or_cwd(cli, tmp_path, monkeypatch, how):
    root = tmp_path / ".modelward" if how == "cwd" else tmp_path / "elsewhere"
    Workspace.init(root).close()
    args = ["models", "list", "--json"]
    if how == "flag":
        args = ["--workspace", str(root), *args]
    elif how == "env":
        monkeypatch.setenv("MODELWARD_HOME", str(root))
    ran = cli(*args)
    assert ran.exit_code == 0, ran.stderr
    assert ran.json == []


def test_a_db_from_a_newer_modelward_is_refused_untouched(cli, workspace):
    import sqlalchemy as sa

    engine = sa.create_engine(workspace.db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    workspace.close()
    ran = cli("models", "list")
    assert ran.exit_code == 2
    assert "newer modelward" in ran.stderr and "upgrade modelward" in ran.stderr
    engine = sa.create_engine(workspace.db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    engine.dispose()


def test_a_workspace_format_from_a_newer_modelward_is_refused(cli, tmp_path: Path):
    root = tmp_path / "ws"
    Workspace.init(root).close()
    (root / "workspace.yml").write_text("format: 7\nmetadata: workspace\n")
    ran = cli("--workspace", root, "models", "list")
    assert ran.exit_code == 2 and "newer modelward" in ran.stderr


@pytest.mark.postgres
def test_a_postgres_workspace_is_not_opened_against_sqlite(cli, tmp_path, pg_url):
    root = tmp_path / "ws"
    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@")  # trust auth ignores it
    Workspace.init(root, db_url=with_password).close()
    assert not (root / "modelward.db").exists()
    recorded = (root / "workspace.yml").read_text()
    assert "127.0.0.1" in recorded and "s3cret-pw" not in recorded
    ran = cli("--workspace", root, "models", "list")
    assert ran.exit_code == 2 and "MODELWARD_DB_URL" in ran.stderr
    assert not (root / "modelward.db").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("thresholds:\n  acuracy: 0.9\n", "unknown key 'thresholds.acuracy'"),
        ("thresholds:\n  accuracy: 1.5\n", "thresholds.accuracy = 1.5"),
        ("thresholds:\n  accuracy: high\n", "thresholds.accuracy = 'high'"),
        ("rollout:\n  stages: [{weight: 50}, {weight: 5}]\n", "must increase and end at 100"),
        ("serving:\n  predict_timeout_s: 0\n", "serving.predict_timeout_s = 0"),
        ("serving:\n  header_timeout_s: -1\n", "serving.header_timeout_s = -1"),
        ("serving:\n  keep_alive_s: 100000\n", "serving.keep_alive_s = 100000"),
        ("serving:\n  max_connections: 0\n", "serving.max_connections = 0"),
        ("serving:\n  follow_ms: 10\n", "serving.follow_ms = 10"),
        ("serving:\n  follow_ms: soon\n", "serving.follow_ms = 'soon'"),
        ("serving:\n  wal_max_mb: 0\n", "serving.wal_max_mb = 0"),
        ("serving:\n  wal_max_mb: lots\n", "serving.wal_max_mb = 'lots'"),
        ("thresholds: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_a_malformed_policy_names_the_key_value_and_why(cli, tmp_path, edit, expected):
    root = tmp_path / "ws"
    Workspace.init(root).close()
    (root / "policy.yml").write_text(edit)
    ran = cli("--workspace", root, "deployments", "list")
    assert ran.exit_code == 2
    assert expected in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert (root / "policy.yml").read_text() == edit
    # what the registry holds stays readable while the policy is being mended
    listed = cli("--workspace", root, "models", "list", "--json")
    assert listed.exit_code == 0 and listed.stdout.strip() == "[]"


def test_policy_show_and_check(cli, tmp_path: Path):
    ran = cli("policy", "show", "--defaults", "--json")
    assert ran.exit_code == 0
    assert ran.json == Policy().model_dump(mode="json")
    good = tmp_path / "p.yml"
    good.write_text("drift:\n  max_drifted_share: 0.2\n")
    assert cli("policy", "check", good).exit_code == 0
    bad = tmp_path / "bad.yml"
    bad.write_text("drift:\n  max_drifted_shares: 0.2\n")
    ran = cli("policy", "check", bad)
    assert ran.exit_code == 2 and "drift.max_drifted_shares" in ran.stderr
    ran = cli("policy", "check", tmp_path / "missing.yml")
    assert ran.exit_code == 2 and "does not exist" in ran.stderr
