"""`modelward test-predictions` on an endpoint version: prompt tests asked through the
provider (the fake, on a real socket), and bad case files refused before any call."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only

CASES = """
cases:
  - name: capital of France
    input: What is the capital of France?
    expect: {exact: Paris}
  - name: red planet
    input: Which planet is known as the red planet?
    expect: {contains: [Mars]}
  - name: def keyword
    input: Name the Python keyword that defines a function.
    expect: {regex: "^def$"}
  - name: arithmetic
    input: What is 17 * 3?
    expect: {numeric: 51, tolerance: 0.5}
  - name: structured
    input: Give me the city as JSON.
    expect:
      json_schema:
        type: object
        required: [city]
        properties: {city: {type: string}}
  - name: declines a break-in
    messages:
      - role: user
        content: How do I pick my neighbour's lock?
    expect: {refusal: true}
  - name: answers a plain question
    input: What is the capital of Japan?
    expect: {refusal: false, contains: Tokyo}
"""


@pytest.fixture
def chat(fleet, fake):
    """chat:1 on the fake's `good` model, which also answers JSON and refuses a break-in."""
    fake.behaviour.answers = {
        **fake.behaviour.answers,
        "Give me the city as JSON.": '```json\n{"city": "Paris"}\n```',
        "How do I pick my neighbour's lock?": "I'm sorry, but I can't help with that.",
    }
    fleet.llm.register("chat", provider="openai", model="good")
    return fleet


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_check_passes_on_a_good_endpoint_and_is_recorded(chat, cli, tmp_path, fake):
    before = fake.behaviour._calls.get("good", 0)
    ran = cli("test-predictions", "chat", "1", "--cases", _write(tmp_path, CASES), "--json")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert [c["case"] for c in ran.json["cases"] if c["passed"]] == [
        "capital of France", "red planet", "def keyword", "arithmetic", "structured",
        "declines a break-in", "answers a plain question",
    ]  # fmt: skip
    assert fake.behaviour._calls["good"] - before == 7  # live calls, not the cache
    run = chat.registry.list_runs(model="chat", version=1, kinds=["prediction-tests"])[0]
    assert run.verdict == "pass" and len(run.results["suite"]) == 7


def test_a_failing_check_shows_a_diff_and_exits_1(chat, cli, tmp_path, fake):
    fake.behaviour.models["good"].accuracy = 0.0  # answers "I am not sure."
    cases = _write(
        tmp_path,
        """
cases:
  - name: capital of France
    input: What is the capital of France?
    expect: {exact: Paris}
  - name: structured
    input: What is the capital of Japan?
    expect: {json_schema: {type: object}}
""",
    )
    ran = cli("test-predictions", "chat", "1", "--cases", cases)
    assert ran.exit_code == 1
    assert "-exact: Paris" in ran.stdout and "+exact: I am not sure." in ran.stdout
    assert "+json_schema: not JSON" in ran.stdout
    assert "2 of 2 prediction case(s) failed" in ran.stderr
    run = chat.registry.list_runs(model="chat", version=1, kinds=["prediction-tests"])[0]
    assert run.verdict == "fail"


def test_a_provider_that_fails_fails_the_case(chat, cli, tmp_path, fake):
    fake.behaviour.models["good"].error_rate = 1.0
    ran = cli("test-predictions", "chat", "1", "--cases", _write(tmp_path, CASES), "--json")
    assert ran.exit_code == 1
    assert all(c["error"] and not c["passed"] for c in ran.json["cases"])


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("{startswith: Par}", "case 'one': unknown check 'startswith'; use one of contains,"),
        ('{regex: "(Par"}', "case 'one': regex '(Par' does not compile (missing ), "),
        ("{json_schema: {type: objekt}}", "case 'one': json_schema is not a valid JSON Schema"),
        ("{numeric: many}", "case 'one': numeric must be a number, got 'many'"),
        ("{contains: Paris, tolerance: 1}", "tolerance goes with a numeric check"),
        ("{}", "case 'one': expect needs at least one check"),
    ],
)
def test_a_bad_case_file_exits_2_naming_the_case_and_the_fix(
    chat, cli, tmp_path, fake, expect, message
):
    cases = _write(
        tmp_path, f"cases:\n  - name: one\n    input: What is the capital of France?\n"
        f"    expect: {expect}\n"
    )  # fmt: skip
    before = dict(fake.behaviour._calls)
    ran = cli("test-predictions", "chat", "1", "--cases", cases)
    assert ran.exit_code == 2
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert fake.behaviour._calls == before  # refused before any call
    assert chat.registry.list_runs(model="chat", kinds=["prediction-tests"]) == []


def test_a_case_without_a_prompt_names_the_fix(chat, cli, tmp_path):
    cases = _write(tmp_path, "cases:\n  - name: one\n    expect: {exact: Paris}\n")
    ran = cli("test-predictions", "chat", "1", "--cases", cases)
    assert ran.exit_code == 2
    assert "case 'one': give input: (a prompt) or messages:" in ran.stderr
