"""Evaluation datasets: JSONL, one item per line.

Fields: ``id`` (unique), ``category`` (factual, technical, research, multimodal, or your
own), ``input`` (a prompt string or a list of chat messages), ``expected`` (an answer or
a list of acceptable answers) or ``reference`` (a reference text for relevance), and an
optional ``scorer`` (see :mod:`modelward.llm.scoring`; default ``normalized``) with its
``tolerance`` for ``numeric``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from modelward.errors import DataError
from modelward.llm.scoring import SCORERS
from modelward.llm.types import Item

__all__ = ["load_dataset"]

ROLES = ("system", "user", "assistant")


def _fail(path: Path, line: int, problem: str) -> DataError:
    return DataError(f"{path} line {line}: {problem}", field="dataset")


def load_dataset(path: str | Path) -> list[Item]:
    """Read and check a JSONL dataset; any problem names the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"dataset {path} does not exist; check the path", field="dataset") from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise DataError(f"dataset {path} is not a UTF-8 JSONL file", field="dataset") from exc
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _fail(path, number, "is not JSON; write one JSON object per line") from exc
        if not isinstance(raw, dict):
            raise _fail(path, number, "must be a JSON object")
        unknown = set(raw) - {
            "id",
            "category",
            "input",
            "expected",
            "reference",
            "scorer",
            "tolerance",
            "metadata",
        }
        if unknown:
            raise _fail(
                path,
                number,
                f"unknown field {sorted(unknown)[0]!r}; fields are id, "
                "category, input, expected, reference, scorer, tolerance",
            )
        ident = str(raw.get("id", number))
        if ident in seen:
            raise _fail(path, number, f"id {ident!r} is used twice; ids must be unique")
        seen.add(ident)
        category = raw.get("category")
        if not isinstance(category, str) or not category.strip():
            raise _fail(path, number, "needs a category (factual, technical, research, ...)")
        messages = _messages(path, number, raw.get("input"))
        expected = raw.get("expected")
        if expected is None:
            expected_list: list[str] = []
        elif (
            isinstance(expected, list)
            and expected
            and all(isinstance(e, str | int | float) for e in expected)
        ):
            expected_list = [str(e) for e in expected]
        elif isinstance(expected, str | int | float) and not isinstance(expected, bool):
            expected_list = [str(expected)]
        else:
            raise _fail(path, number, "expected must be a string, a number or a list of them")
        reference = raw.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise _fail(path, number, "reference must be a string")
        scorer = raw.get("scorer", "normalized")
        if scorer not in SCORERS:
            raise _fail(
                path, number, f"unknown scorer {scorer!r}; use one of {', '.join(sorted(SCORERS))}"
            )
        if not expected_list and scorer != "judge" and reference is None:
            raise _fail(path, number, "needs expected (or a reference with scorer judge)")
        tolerance = raw.get("tolerance", 0.0)
        if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or tolerance < 0:
            raise _fail(path, number, "tolerance must be a number >= 0")
        items.append(
            Item(
                ident,
                category.strip(),
                messages,
                expected_list,
                reference,
                scorer,
                float(tolerance),
            )
        )
    if not items:
        raise DataError(
            f"dataset {path} has no items; add one JSON object per line", field="dataset"
        )
    return items


def _messages(path: Path, number: int, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str) and value.strip():
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value:
        for message in value:
            if (
                not isinstance(message, dict)
                or message.get("role") not in ROLES
                or "content" not in message
            ):
                raise _fail(
                    path, number, "input messages need a role (system, user, assistant) and content"
                )
        if not any(m["role"] == "user" for m in value):
            raise _fail(path, number, "input needs at least one user message")
        return [dict(m) for m in value]
    raise _fail(path, number, "needs an input: a prompt string or a list of messages")
