"""The model registry: models, versions, aliases, lifecycle stages, history."""

from modelward.lazy import lazy_exports

__all__ = [
    "ALLOWED",
    "GATES",
    "TASKS",
    "AliasInfo",
    "Catalog",
    "EventInfo",
    "GateResult",
    "ModelInfo",
    "Registry",
    "RunInfo",
    "Stage",
    "VersionInfo",
]

# Loaded on first use: the registry's writes need SQLAlchemy, its reads (the catalog) do not.
__getattr__ = lazy_exports(
    __name__,
    {
        "ALLOWED": "modelward.registry.stages",
        "GATES": "modelward.registry.gates",
        "TASKS": "modelward.registry.registry",
        "AliasInfo": "modelward.registry.records",
        "Catalog": "modelward.registry.catalog",
        "EventInfo": "modelward.registry.records",
        "GateResult": "modelward.registry.gates",
        "ModelInfo": "modelward.registry.records",
        "Registry": "modelward.registry.registry",
        "RunInfo": "modelward.registry.records",
        "Stage": "modelward.registry.stages",
        "VersionInfo": "modelward.registry.records",
    },
)
