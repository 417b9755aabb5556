"""What the fake providers answer, how fast, and when they fail."""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from modelward.errors import ConfigError
from modelward.llm.dataset import load_dataset

__all__ = ["FakeBehaviour", "FakeModel", "load_behaviour"]


class FakeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accuracy: float = Field(default=1.0, ge=0, le=1)
    latency_ms: float = Field(default=0.0, ge=0)
    fail_first: int = Field(default=0, ge=0)  # the first N calls get 429 + Retry-After
    retry_after_s: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)  # share of prompts answered with 500
    wrong_answer: str = "I am not sure."
    temperature_penalty: float = Field(default=0.0, ge=0)  # accuracy lost per unit temperature


class FakeBehaviour(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, FakeModel] = {"fake-small": FakeModel()}
    answers: dict[str, str] = {}  # prompt -> correct answer
    api_key: str | None = None  # when set, calls without it get 401
    echo_key: bool = False  # error messages quote the credential the call carried
    _calls: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model(self, model_id: str) -> FakeModel | None:
        return self.models.get(model_id)

    def count_call(self, model_id: str) -> int:
        with self._lock:
            self._calls[model_id] = self._calls.get(model_id, 0) + 1
            return self._calls[model_id]

    def answer(self, model_id: str, prompt: str, temperature: float = 0.0) -> tuple[str, bool]:
        """(text, failed) for the last user message ``prompt``."""
        spec = self.models[model_id]
        accuracy = max(0.0, spec.accuracy - spec.temperature_penalty * temperature)
        if spec.error_rate and _unit(f"error:{model_id}:{prompt}") < spec.error_rate:
            return "", True
        for question, correct in self.answers.items():
            if question in prompt:
                good = _unit(f"{model_id}:{question}") < accuracy
                return (correct if good else spec.wrong_answer), False
        return f"This is {model_id}'s answer to: {prompt[:200]}", False

    def add_answers_from(self, path: str | Path) -> None:
        """Learn the answers of an evaluation dataset (JSONL): the first expected answer,
        or the reference for regex-scored items (a pattern is not an answer)."""
        answers = dict(self.answers)
        for item in load_dataset(path):
            answer = item.reference if item.scorer == "regex" else None
            answer = answer or (item.expected[0] if item.expected else item.reference)
            if answer:
                answers[item.prompt_text()] = answer
        self.answers = answers


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def _unit(text: str) -> float:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load_behaviour(path: str | Path | None) -> FakeBehaviour:
    if path is None:
        return FakeBehaviour()

    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"fake provider config {path} does not exist; check the path") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML; fix the syntax") from exc
    try:
        return FakeBehaviour.model_validate(raw or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}; fix that value") from exc
