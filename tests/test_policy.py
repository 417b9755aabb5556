"""Per-model policy: ``models: {NAME: {...}}`` sections of policy.yml, merged over the
workspace's defaults; ``policy show --model`` and ``policy check``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelward import Policy, Workspace
from modelward.errors import PolicyError
from modelward.policy import parse_policy

pytestmark = pytest.mark.sqlite_only


def _policy(text: str) -> Policy:
    return parse_policy(text, source="policy.yml")


def _write_sections(ws: Workspace, models: dict, **top: dict) -> None:
    """Add ``models:`` (and top-level overrides) to the workspace's policy.yml."""
    raw = yaml.safe_load(ws.layout.policy.read_text())
    for section, values in top.items():
        raw[section] = {**raw[section], **values}
    raw["models"] = models
    ws.layout.policy.write_text(yaml.safe_dump(raw, sort_keys=False))
    ws.__dict__.pop("policy", None)  # read the file again


# -- the policy model ---------------------------------------------------------------------


def test_thresholds_by_task_have_defaults_and_directions():
    thresholds = Policy().thresholds
    assert thresholds.for_task("binary-classification") == thresholds.as_dict()
    multiclass = thresholds.for_task("multiclass-classification")
    assert set(multiclass) == {
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
    }
    assert all(0 < v <= 1 for v in multiclass.values())
    # unset regression limits (mae_max, rmse_max, mape_max: null) are not thresholds
    assert thresholds.for_task("regression") == {"r2_min": 0.5}
    assert thresholds.for_task("text-generation") == {}
    with pytest.raises(ValueError, match="unknown task"):
        thresholds.for_task("clustering")
    limited = _policy("thresholds: {regression: {r2_min: 0.6, mae_max: 250}}").thresholds
    limits = {limit.metric: limit for limit in limited.limits("regression")}
    assert (limits["r2"].op, limits["r2"].value) == (">=", 0.6)
    assert (limits["mae"].op, limits["mae"].value) == ("<=", 250)
    assert limits["mae"].passes(249.0) and not limits["mae"].passes(251.0)
    assert limits["r2"].passes(0.6) and not limits["r2"].passes(0.59)


def test_bias_policy_knows_whether_it_is_required_and_the_task_limits():
    bias = Policy().bias
    assert bias.required is True
    assert 0 < bias.max_accuracy_difference <= 1 and bias.max_mae_ratio >= 1
    assert Policy().positive_class is None
    with pytest.raises(PolicyError, match=r"bias\.max_accuracy_difference = 1\.5"):
        _policy("bias: {max_accuracy_difference: 1.5}")
    with pytest.raises(PolicyError, match=r"bias\.max_mae_ratio = 0\.5"):
        _policy("bias: {max_mae_ratio: 0.5}")


def test_a_section_deep_merges_over_the_workspace_values():
    policy = _policy(
        """
drift: {p_value: 0.01}
thresholds: {f1: 0.7}
models:
  mass:
    thresholds: {regression: {r2_min: 0.6}}
    bias: {required: false, protected: [island]}
  cancer:
    positive_class: malignant
    thresholds: {f1: 0.9}
"""
    )
    mass = policy.for_model("mass")
    assert mass.thresholds.regression.r2_min == 0.6
    # the rest of the section stays: the sibling keys, the binary thresholds, other sections
    assert mass.thresholds.regression.mae_max is None
    assert mass.thresholds.f1 == 0.7 and mass.thresholds.roc_auc == Policy().thresholds.roc_auc
    assert mass.drift.p_value == 0.01
    assert mass.bias.required is False and mass.bias.protected == ["island"]
    assert mass.bias.age_bands == Policy().bias.age_bands
    cancer = policy.for_model("cancer")
    assert cancer.positive_class == "malignant" and cancer.thresholds.f1 == 0.9
    assert cancer.thresholds.regression.r2_min == 0.5 and cancer.bias.required is True
    # a model without a section gets the workspace's values
    other = policy.for_model("other")
    assert other.thresholds.f1 == 0.7 and other.positive_class is None
    assert other.models == {} and mass.models == {}


def test_a_list_in_a_section_replaces_the_default_list():
    policy = _policy("models: {a: {bias: {protected: [island]}, drift: {methods: {x: psi}}}}")
    effective = policy.for_model("a")
    assert effective.bias.protected == ["island"]
    assert effective.drift.methods == {"x": "psi"}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "{a: {thresholds: {regression: {r2_min: 1.5}}}}",
            "models.a.thresholds.regression.r2_min = 1.5",
        ),
        ("{a: {thresholds: {f1: 2}}}", "models.a.thresholds.f1 = 2: must be a fraction"),
        ("{a: {thresholds: {regresion: {r2_min: 0.6}}}}", "models.a.thresholds.regresion: unknown"),
        ("{a: {colour: red}}", "models.a.colour: unknown key"),
        ("{a: {bias: {required: maybe}}}", "models.a.bias.required = 'maybe'"),
        ("{a: {alerts: {dedupe_window: 2h}}}", "models.a.alerts: workspace-wide"),
        ("{a: {serving: {max_connections: 5}}}", "models.a.serving.max_connections: workspace"),
        ("{a: {models: {b: {}}}}", "models.a.models: workspace-wide"),
        ("{a: {monitoring: {engine: spark}}}", "models.a.monitoring.engine: workspace-wide"),
        ("{a: {monitoring: {spark_master: yarn}}}", "models.a.monitoring.spark_master: work"),
        ("{a: 5}", "models.a = 5"),
        ("{a: {lifecycle: {approvals_required: -1}}}", "models.a.lifecycle.approvals_required"),
        ("{a: {lifecycle: {aprovals: 2}}}", "models.a.lifecycle.aprovals: unknown key"),
    ],
)
def test_a_bad_section_names_its_key_path_in_one_line(section, expected):
    with pytest.raises(PolicyError) as caught:
        _policy(f"models: {section}\n")
    message = str(caught.value)
    assert expected in message, message
    assert message.startswith("policy.yml: ") and "\n" not in message


def test_a_section_may_set_serving_latency():
    policy = _policy("models: {a: {serving: {latency: {p95_ms: 40}}}}")
    assert policy.for_model("a").serving.latency.p95_ms == 40


def test_the_sources_say_default_workspace_or_the_section():
    from modelward.policy import explain

    policy = _policy(
        """
drift: {p_value: 0.01}
models:
  mass: {thresholds: {regression: {r2_min: 0.6}}, drift: {methods: {x: psi}}}
"""
    )
    settings = explain(policy, "mass")
    assert settings["thresholds.regression.r2_min"] == {"value": 0.6, "source": "models.mass"}
    assert settings["drift.methods.x"] == {"value": "psi", "source": "models.mass"}
    assert settings["drift.p_value"] == {"value": 0.01, "source": "workspace"}
    assert settings["thresholds.regression.mae_max"] == {"value": None, "source": "default"}
    assert settings["bias.protected"]["source"] == "default"
    # a setting the section repeats at the workspace's value still comes from the section
    same = explain(_policy("models: {m: {thresholds: {f1: 0.75}}}"), "m")
    assert same["thresholds.f1"]["source"] == "models.m"
    other = explain(policy, "other")
    assert {s["source"] for s in other.values()} == {"default", "workspace"}


def test_the_written_defaults_read_back_the_same():
    from modelward.policy import dump_policy

    assert _policy(dump_policy(Policy())) == Policy()


# -- the workspace and the CLI -------------------------------------------------------------


@pytest.fixture
def two_models(workspace, fitted, cleveland):
    workspace.register("heart", fitted, data=cleveland, target="target")
    workspace.register("second", fitted, data=cleveland, target="target")
    return workspace


def test_policy_for_gives_each_model_its_own_values(two_models):
    ws = two_models
    _write_sections(ws, {"heart": {"thresholds": {"roc_auc": 0.6}}}, drift={"p_value": 0.01})
    assert ws.policy_for("heart").thresholds.roc_auc == 0.6
    assert ws.policy_for("second").thresholds.roc_auc == Policy().thresholds.roc_auc
    assert ws.policy_for("heart").drift.p_value == ws.policy_for("second").drift.p_value == 0.01
    assert ws.policy.thresholds.roc_auc == Policy().thresholds.roc_auc


def test_show_model_prints_the_source_of_each_value(two_models, cli):
    ws = two_models
    _write_sections(ws, {"heart": {"thresholds": {"roc_auc": 0.6}}}, drift={"p_value": 0.01})
    ran = cli("policy", "show", "--model", "heart", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["model"] == "heart"
    settings = ran.json["settings"]
    assert settings["thresholds.roc_auc"] == {"value": 0.6, "source": "models.heart"}
    assert settings["drift.p_value"] == {"value": 0.01, "source": "workspace"}
    assert settings["thresholds.regression.r2_min"] == {"value": 0.5, "source": "default"}
    ran = cli("policy", "show", "--model", "second", "--json")
    assert ran.json["settings"]["thresholds.roc_auc"]["source"] == "default"
    text = cli("policy", "show", "--model", "heart")
    assert text.exit_code == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if "thresholds.roc_auc" in ln)
    assert "0.6" in line and "models.heart" in line
    line = next(ln for ln in text.stdout.splitlines() if "drift.p_value" in ln)
    assert "0.01" in line and "workspace" in line


def test_show_model_of_an_unknown_model_is_one_line(two_models, cli):
    ran = cli("policy", "show", "--model", "nope")
    assert ran.exit_code == 2
    assert "nope" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_check_accepts_sections_of_registered_models(two_models, cli, tmp_path):
    ws = two_models
    _write_sections(ws, {"heart": {"bias": {"required": False}}})
    ran = cli("policy", "check")
    assert ran.exit_code == 0, ran.stderr
    assert "valid policy" in ran.stdout
    candidate = tmp_path / "candidate.yml"
    candidate.write_text("models: {second: {thresholds: {regression: {r2_min: 0.7}}}}\n")
    assert cli("policy", "check", candidate).exit_code == 0


def test_check_refuses_a_section_for_a_model_not_in_the_registry(two_models, cli, tmp_path):
    candidate = tmp_path / "candidate.yml"
    candidate.write_text("models: {hearts: {thresholds: {f1: 0.7}}}\n")
    ran = cli("policy", "check", candidate)
    assert ran.exit_code == 2
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "models.hearts" in ran.stderr and "heart, second" in ran.stderr
    # the same in the workspace's own file, checked without an argument
    _write_sections(two_models, {"hearts": {"thresholds": {"f1": 0.7}}})
    ran = cli("policy", "check")
    assert ran.exit_code == 2 and "models.hearts" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("{heart: {thresholds: {accuracy: 1.2}}}", "models.heart.thresholds.accuracy = 1.2"),
        ("{heart: {thresholds: {multiclass: {f1_macro: -1}}}}", "thresholds.multiclass.f1_macro"),
        ("{heart: {bias: {requird: false}}}", "models.heart.bias.requird: unknown key"),
    ],
)
def test_check_names_the_key_path_of_a_bad_section(two_models, cli, tmp_path, section, expected):
    candidate = tmp_path / "candidate.yml"
    candidate.write_text(f"models: {section}\n")
    ran = cli("policy", "check", candidate)
    assert ran.exit_code == 2
    assert expected in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_check_without_a_workspace_validates_the_sections_it_can(cli, tmp_path: Path):
    candidate = tmp_path / "candidate.yml"
    candidate.write_text("models: {any: {thresholds: {f1: 0.7}}}\n")
    ran = cli("policy", "check", candidate)
    assert ran.exit_code == 0, ran.stderr
    assert "were not" in ran.stdout
    candidate.write_text("models: {any: {thresholds: {f1: 7}}}\n")
    ran = cli("policy", "check", candidate)
    assert ran.exit_code == 2 and "models.any.thresholds.f1 = 7" in ran.stderr


def test_the_robustness_limits_of_a_regressor_are_policy_and_checked():
    robustness = _policy("robustness: {move_tolerance: 0.2, max_moved_share: 0.3}").robustness
    assert robustness.move_tolerance == 0.2 and robustness.max_moved_share == 0.3
    assert Policy().robustness.max_moved_share is None  # then max_flip_rate applies
    with pytest.raises(PolicyError, match=r"robustness\.max_moved_share"):
        _policy("robustness: {max_moved_share: 1.5}")
    with pytest.raises(PolicyError, match=r"robustness\.move_tolerance"):
        _policy("robustness: {move_tolerance: 0}")
