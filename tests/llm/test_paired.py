"""The paired test of two endpoint versions on the same dataset items: a clearly worse
version is caught, a couple of unlucky items are not."""

from __future__ import annotations

from modelward.llm.paired import paired_items


def _rows(correct: list[bool], scores: list[float] | None = None) -> list[dict]:
    scores = scores or [float(c) for c in correct]
    return [
        {"id": f"q{i}", "correct": c, "score": s}
        for i, (c, s) in enumerate(zip(correct, scores, strict=True))
    ]


def test_a_clearly_worse_version_is_worse():
    base = _rows([True] * 30)
    cand = _rows([True] * 18 + [False] * 12)
    result = paired_items(base, cand)
    assert result["verdict"] == "worse"
    assert result["items"] == 30 and result["accuracy"]["candidate"] == 0.6
    assert result["significant"]["worse"] == ["McNemar accuracy"]


def test_a_couple_of_unlucky_items_are_no_significant_difference():
    base = _rows([True] * 30)
    cand = _rows([True] * 28 + [False] * 2)
    result = paired_items(base, cand)
    assert result["verdict"] == "no significant difference"
    assert result["tests"]["mcnemar_accuracy"]["only_a_correct"] == 2


def test_items_pair_by_id_not_by_position():
    base = _rows([True] * 20 + [False] * 10)
    cand = list(reversed(_rows([True] * 20 + [False] * 10)))
    assert paired_items(base, cand)["verdict"] == "no significant difference"


def test_graded_scores_lower_on_most_items_are_worse_even_when_correct():
    base = _rows([True] * 20, [0.95] * 20)
    cand = _rows([True] * 20, [0.6 + i / 100 for i in range(20)])
    result = paired_items(base, cand)
    assert result["verdict"] == "worse"
    assert result["significant"]["worse"] == ["Wilcoxon score"]
