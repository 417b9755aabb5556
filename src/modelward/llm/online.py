"""Online evaluation: production answers scored against an evaluation dataset.

A gateway logs each call's prompt as its sha256 (``in_prompt_hash``), never the prompt.
When a production prompt is one of the dataset's (a canary's traffic carries the team's
golden questions, or users ask them), its logged answer is scored with the item's scorer
as ``llm evaluate`` would, at no provider cost. ``sample`` keeps a consistent share of
the matching calls (by request id) and ``max_answers`` bounds the work of one window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.dataset import load_dataset
from modelward.llm.scoring import score
from modelward.llm.types import prompt_hash

if TYPE_CHECKING:
    from modelward.llm.types import Item

__all__ = ["OnlineEvaluation", "online_evaluation"]


@dataclass(frozen=True)
class OnlineEvaluation:
    dataset: str
    items: dict[str, Item]  # prompt hash -> item (judge-scored items are left out)
    sample: float = 1.0
    max_answers: int = 2000

    def correct(self, item: Item, answer: str | None) -> bool:
        return answer is not None and score(answer, item) >= 0.5

    def to_plan(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "sample": self.sample, "max_answers": self.max_answers}


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> dict[str, Item]:
    return {
        prompt_hash(item.prompt_text()): item
        for item in load_dataset(path)
        if item.scorer != "judge" and item.expected
    }


def online_evaluation(spec: dict[str, Any]) -> OnlineEvaluation:
    """The online evaluation a rollout plan names (``dataset``, ``sample``,
    ``max_answers``); the dataset is read once per change of the file."""
    path = str(spec.get("dataset") or "")
    sample = float(spec.get("sample", 1.0))
    if not 0 < sample <= 1:
        raise ConfigError(
            f"online evaluation sample must be in (0, 1], got {sample:g}", field="sample"
        )
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(
            f"online evaluation dataset {path or '(none)'} cannot be read; check the path",
            field="dataset",
        ) from exc
    items = _load(path, mtime)
    if not items:
        raise ConfigError(
            f"online evaluation dataset {path} has no item with expected answers and a "
            "scorer other than judge; add some",
            field="dataset",
        )
    return OnlineEvaluation(path, items, sample, int(spec.get("max_answers", 2000)))
