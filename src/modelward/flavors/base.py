"""The interface every model flavor implements: save, load, predict, predict_proba, describe."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

__all__ = ["Flavor"]


class Flavor(Protocol):
    """A loaded model of one format. ``save`` makes bytes; ``load`` reads them back."""

    name: ClassVar[str]
    suffix: ClassVar[str]

    @classmethod
    def save(cls, model: Any) -> bytes: ...

    @classmethod
    def load(cls, data: bytes) -> Flavor: ...

    def predict(self, frame: Any) -> Any: ...

    def predict_proba(self, frame: Any) -> Any | None: ...

    def describe(self) -> dict[str, Any]: ...

    @property
    def input_names(self) -> list[str] | None: ...
