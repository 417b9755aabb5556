"""``modelward llm health``: each provider's model list and how long it took to get it.

Each check is stored as a run (kind ``llm-health``, verdict ``pass`` when every provider
is ok), so the dashboard and ``modelward runs list`` show the last one without calling a
provider again."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from modelward.errors import ProviderError

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["RUN_KIND", "health"]

RUN_KIND = "llm-health"


async def _check(ws: Workspace, name: str) -> dict[str, Any]:
    config = ws.llm.config.provider(name)
    entry: dict[str, Any] = {
        "provider": name,
        "kind": config.kind,
        "base_url": config.base_url,
        "required": config.required,
        "models": [],
        "missing": [],
        "latency_ms": None,
        "error": None,
    }
    start = time.perf_counter()
    try:
        models = await ws.llm.provider(name).list_models()
    except ProviderError as exc:
        entry["error"] = exc.message
        entry["ok"] = not config.required
        entry["status"] = "down" if config.required else "unreachable (not required)"
        return entry
    entry["latency_ms"] = (time.perf_counter() - start) * 1000
    entry["models"] = models
    entry["missing"] = [m for m in config.models if m not in models]
    entry["ok"] = not entry["missing"]
    entry["status"] = "ok" if entry["ok"] else "missing models"
    return entry


def health(ws: Workspace, providers: list[str] | None = None) -> list[dict[str, Any]]:
    names = providers or sorted(ws.llm.config.providers)
    for name in names:
        ws.llm.config.provider(name)  # unknown names fail before any call

    async def run() -> list[dict[str, Any]]:
        try:
            return list(await asyncio.gather(*(_check(ws, n) for n in names)))
        finally:
            await ws.llm.aclose()

    entries = asyncio.run(run())
    ws.registry.record_run(
        RUN_KIND,
        model=None,
        version=None,
        inputs={"providers": names},
        results={"providers": entries},
        verdict="pass" if all(entry["ok"] for entry in entries) else "fail",
    )
    return entries
