"""Every file, flag, config value and body a user can get wrong: one line naming the
problem and the fix, exit 2, and nothing stored changed."""

from __future__ import annotations

import json

import pytest

from llm.helpers import DATASET, write_dataset

pytestmark = pytest.mark.sqlite_only


def _snapshot(ws) -> tuple:
    registry = ws.registry
    models = [(m.name, m.latest_version) for m in registry.list_models()]
    runs = len(registry.list_runs())
    from modelward.llm.routing import routing_history

    return models, runs, len(routing_history(ws))


def _mistake(ran, *needles: str) -> None:
    assert ran.exit_code == 2, (ran.exit_code, ran.stdout, ran.stderr)
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("yml", "needle"),
    [
        ("providers: [oops", "is not valid YAML at line"),
        ("provders: {}", "provders: unknown key"),
        ("- a\n- b", "must be a mapping"),
        ("providers:\n  p: {kind: openia, base_url: 'http://x'}", "providers.p.kind"),
        ("providers:\n  p: {kind: openai, base_url: 'api.openai.com'}", "must start with http"),
        (
            "providers:\n  p: {kind: openai, base_url: 'http://x', api_key_env: 'sk-abc-123'}",
            "must be the NAME of an environment variable",
        ),
        (
            "providers:\n  p: {kind: openai, base_url: 'http://x', timeout_s: -1}",
            "providers.p.timeout_s",
        ),
        ("prices:\n  m: {input: -1, output: 2}", "prices.m.input"),
        ("gateway: {cache_ttl_s: soon}", "gateway.cache_ttl_s"),
    ],
)
def test_bad_llm_yml(workspace, cli, yml, needle):
    (workspace.root / "llm.yml").write_text(yml, encoding="utf-8")
    before = _snapshot(workspace)
    ran = cli("llm", "register", "x", "--provider", "p", "--model", "m")
    _mistake(ran, "llm.yml", needle)
    assert _snapshot(workspace) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--provider", "nope", "--model", "m"), "no provider named 'nope'"),
        (("--provider", "openai", "--model", " "), "--model needs"),
        (("--provider", "openai", "--model", "good", "--param", "temperature"), "is not key=value"),
        (
            ("--provider", "openai", "--model", "good", "--param", "temprature=1"),
            "unknown parameter 'temprature'",
        ),
        (
            ("--provider", "openai", "--model", "good", "--param", "temperature=3"),
            "must be between 0 and 2",
        ),
        (
            ("--provider", "openai", "--model", "good", "--param", "max_tokens=lots"),
            "must be an integer",
        ),
        (
            ("--provider", "openai", "--model", "good", "--prompt", "missing.txt"),
            "prompt file missing.txt does not exist",
        ),
    ],
)
def test_bad_register_flags(llm_ws, cli, args, needle):
    before = _snapshot(llm_ws)
    _mistake(cli("llm", "register", "x", *args), needle)
    assert _snapshot(llm_ws) == before


def test_prompt_without_placeholder_and_bad_name(llm_ws, cli, tmp_path):
    prompt = tmp_path / "p.txt"
    prompt.write_text("no placeholder here")
    before = _snapshot(llm_ws)
    _mistake(
        cli("llm", "register", "x", "--provider", "openai", "--model", "good", "--prompt", prompt),
        "no {input} placeholder",
    )
    _mistake(cli("llm", "register", "Bad Name", "--provider", "openai", "--model", "good"))
    assert _snapshot(llm_ws) == before


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "has no items"),
        ("{not json}\n", "line 1: is not JSON"),
        ("[1, 2]\n", "line 1: must be a JSON object"),
        ('{"id": 1, "input": "q", "expected": "a"}\n', "line 1: needs a category"),
        ('{"id": 1, "category": "factual", "expected": "a"}\n', "line 1: needs an input"),
        (
            '{"id": 1, "category": "factual", "input": [{"role": "bot", "content": "x"}], '
            '"expected": "a"}\n',
            "need a role",
        ),
        (
            '{"id": 1, "category": "factual", "input": "q", "expected": "a", "scorer": "fuzzy"}\n',
            "unknown scorer 'fuzzy'",
        ),
        (
            '{"id": 1, "category": "factual", "input": "q", "expected": {"a": 1}}\n',
            "expected must be",
        ),
        ('{"id": 1, "category": "factual", "input": "q"}\n', "needs expected"),
        (
            '{"id": 1, "category": "factual", "input": "q", "expected": "a", "tolerance": -1}\n',
            "tolerance must be",
        ),
        (
            '{"id": 1, "category": "factual", "input": "q", "expected": "a", "answer": "b"}\n',
            "unknown field 'answer'",
        ),
        (
            '{"id": 1, "category": "f", "input": "q", "expected": "a"}\n'
            '{"id": 1, "category": "f", "input": "q", "expected": "a"}\n',
            "line 2: id '1' is used twice",
        ),
    ],
)
def test_bad_dataset_files(fleet, cli, tmp_path, content, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    before = _snapshot(fleet)
    _mistake(cli("llm", "evaluate", "--models", "good", "--dataset", path), needle)
    assert _snapshot(fleet) == before


def test_missing_dataset_file(fleet, cli):
    _mistake(
        cli("llm", "evaluate", "--models", "good", "--dataset", "nowhere.jsonl"),
        "dataset nowhere.jsonl does not exist",
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ("llm", "evaluate", "--models", "good", "--concurrency", "0"),
            "--concurrency must be at least 1",
        ),
        (("llm", "evaluate", "--models", ","), "--models needs model names"),
        (("llm", "evaluate", "--models", "gpt-99"), "no model named 'gpt-99'"),
        (("llm", "evaluate", "--models", "good:7"), "has no version '7'"),
        (("llm", "evaluate", "--models", "good", "--judge", "nope"), "no model named 'nope'"),
        (("llm", "compare", "--models", "good"), "at least two models"),
        (("llm", "tune", "good", "--params", "warmth"), "unknown parameter 'warmth'"),
        (
            ("llm", "tune", "good", "--params", "temperature", "--grid", "temperature"),
            "is not name=v1,v2",
        ),
        (
            ("llm", "tune", "good", "--params", "temperature", "--grid", "temperature=0,9"),
            "must be between 0 and 2",
        ),
        (
            ("llm", "tune", "good", "--params", "temperature", "--grid", "top_p=0.5"),
            "missing from --params",
        ),
        (
            ("llm", "tune", "good", "--params", "temperature", "--trials", "0"),
            "--trials must be at least 1",
        ),
        (("llm", "tune", "good", "--params", "seed"), "has no default grid"),
    ],
)
def test_bad_flags_of_dataset_commands(fleet, cli, dataset, args, needle):
    before = _snapshot(fleet)
    _mistake(cli(*args, "--dataset", dataset), needle)
    assert _snapshot(fleet) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("llm", "optimize-cost", "--budget", "0", "--volume", "10"), "--budget must be positive"),
        (
            ("llm", "optimize-cost", "--budget", "10", "--volume", "10", "--batch-share", "2"),
            "--batch-share must be between 0 and 1",
        ),
        (("llm", "optimize-cost", "--budget", "10", "--volume", "0"), "--volume must be at least"),
        (("llm", "optimize-cost", "--budget", "10"), "pass --volume"),
        (
            (
                "llm",
                "routes",
                "set",
                "factual",
                "--models",
                "good",
                "--canary",
                "slow",
                "--weight",
                "150",
                "--reason",
                "r",
            ),
            "canary weight for 'factual' must be between",
        ),
        (
            ("llm", "routes", "set", "factual", "--models", "nope", "--reason", "r"),
            "no model named 'nope'",
        ),
        (("llm", "routes", "set", "factual", "--models", "good", "--reason", " "), "pass --reason"),
        (("llm", "revert", "9", "--reason", "r"), "no production routing revision 9"),
        (("llm", "revert", "1"), "needs a reason"),
        (("llm", "routes", "show", "--revision", "4"), "no production routing revision 4"),
        (("llm", "health", "--provider", "nope"), "no provider named 'nope'"),
    ],
)
def test_bad_flags_of_routing_and_cost(fleet, cli, args, needle):
    from modelward.llm.routing import save_routes

    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="start")
    before = _snapshot(fleet)
    _mistake(cli(*args), needle.replace("--budget must be positive", "--budget must be a"))
    assert _snapshot(fleet) == before


def test_optimize_cost_without_a_routing_table(fleet, cli):
    _mistake(cli("llm", "optimize-cost", "--budget", "10", "--volume", "5"), "no routing table yet")


def test_bad_fake_server_config(cli, tmp_path):
    path = tmp_path / "fake.yml"
    path.write_text("models:\n  m: {accuracy: 2}\n")
    _mistake(cli("llm", "fake-server", "--config", path), "models.m.accuracy")
    _mistake(cli("llm", "fake-server", "--config", tmp_path / "none.yml"), "does not exist")


def test_judge_scorer_without_judge_counts_as_error_not_crash(fleet, cli, tmp_path):
    items = [
        {
            "id": "j",
            "category": "research",
            "input": "Explain caching",
            "reference": "Caching stores answers",
            "scorer": "judge",
        }
    ]
    path = write_dataset(tmp_path / "j.jsonl", items)
    ran = cli("llm", "evaluate", "--models", "good", "--dataset", path, "--json", "--items")
    assert ran.exit_code == 1
    assert "judge" in json.loads(ran.stdout)[0]["items"][0]["error"]
    # with a judge model configured on the command line it is scored
    ran = cli(
        "llm",
        "evaluate",
        "--models",
        "good",
        "--dataset",
        path,
        "--judge",
        "slow",
        "--json",
        "--items",
    )
    assert json.loads(ran.stdout)[0]["items"][0]["error"] is None
    assert len(DATASET) > 0
