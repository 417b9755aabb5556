"""Scorers: how an answer is judged against the expected answer(s) of a dataset item.

Each scorer is ``(output, item) -> float`` in [0, 1]; an item counts as correct when its
score is at least 0.5.

- ``exact``: the output equals an expected answer (after trimming whitespace).
- ``normalized``: equal after lower-casing and dropping punctuation, articles and extra
  whitespace (SQuAD's normalization).
- ``contains``: an expected answer appears in the normalized output.
- ``regex``: an expected answer, read as a regular expression, matches the output.
- ``numeric``: the first number in the output is within ``tolerance`` of an expected number.
- ``choice``: the first standalone choice letter (A-E) in the output is the expected one.
- ``judge``: a configured judge model answers "score 0-10"; only with ``--judge``.

Relevance and coherence are computed for every answer, with a documented method:
- *relevance*: the share of content words of the reference (else the expected answers,
  else the question) that the answer covers, a token-recall measure in [0, 1];
- *coherence*: 1 minus the share of repeated word trigrams in the answer (a degenerate,
  looping answer scores low), 0 for an empty answer.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from modelward.llm.types import Item

__all__ = ["SCORERS", "coherence", "normalize", "relevance", "score"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*(?:\.\d+)?(?:[eE]-?\d+)?")
_CHOICE = re.compile(r"\b([A-E])\b")
_STOP = set(
    "a an the of to in on for and or is are was were be been what which who whom how why when "
    "where does do did with by as at from that this it its into than then there their".split()
)


def normalize(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _exact(output: str, item: Item) -> float:
    return float(any(output.strip() == e.strip() for e in item.expected))


def _normalized(output: str, item: Item) -> float:
    return float(any(normalize(output) == normalize(e) for e in item.expected))


def _contains(output: str, item: Item) -> float:
    out = normalize(output)
    return float(any(normalize(e) and normalize(e) in out for e in item.expected))


def _regex(output: str, item: Item) -> float:
    return float(any(re.search(e, output, flags=re.IGNORECASE) for e in item.expected))


def _first_number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if not match:
        return None
    try:
        return float(match.group(0).replace(",", ""))
    except ValueError:
        return None


def _numeric(output: str, item: Item) -> float:
    got = _first_number(output)
    if got is None:
        return 0.0
    for expected in item.expected:
        want = _first_number(expected)
        if want is not None and abs(got - want) <= item.tolerance:
            return 1.0
    return 0.0


def _choice(output: str, item: Item) -> float:
    match = _CHOICE.search(output.strip())
    got = match.group(1) if match else output.strip()[:1].upper()
    return float(any(got == e.strip().upper()[:1] for e in item.expected))


SCORERS: dict[str, Callable[[str, Item], float] | None] = {
    "exact": _exact,
    "normalized": _normalized,
    "contains": _contains,
    "regex": _regex,
    "numeric": _numeric,
    "choice": _choice,
    "judge": None,  # needs a model call: modelward.llm.evaluate
}


def score(output: str, item: Item) -> float:
    scorer = SCORERS[item.scorer]
    if scorer is None:
        raise ValueError("the judge scorer is applied by the evaluator")
    return scorer(output, item)


def _content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP}


def relevance(output: str, item: Item) -> float:
    wanted = _content_words(item.reference or " ".join(item.expected)) or _content_words(
        item.prompt_text()
    )
    if not wanted:
        return 1.0 if output.strip() else 0.0
    return len(wanted & _content_words(output)) / len(wanted)


def coherence(output: str) -> float:
    words = normalize(output).split()
    if not words:
        return 0.0
    if len(words) < 3:
        return 1.0
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(grams)) / len(grams)
