"""modelward: a model-management runbook you can execute.

The public Python API is re-exported here (lazily, on first use); ``docs/python-api.md``
lists the same names and a test keeps the two in step.
"""

from typing import TYPE_CHECKING, Any

from modelward.errors import (
    AlreadyExists,
    ArtifactDamaged,
    ArtifactError,
    AuthError,
    BudgetExceeded,
    CheckFailed,
    ConfigError,
    ConflictError,
    DataError,
    DependencyError,
    InvalidJSON,
    InvalidName,
    LogUnavailable,
    MethodNotAllowed,
    ModelFailed,
    ModelTimeout,
    ModelwardError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    PolicyError,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    RaceLost,
    RequestError,
    SchemaError,
    StorageError,
    TransitionError,
    UserError,
    WorkspaceError,
    WorkspaceTooNew,
)

if TYPE_CHECKING:
    from modelward.backup.archive import create_backup, verify_backup
    from modelward.backup.restore import restore_backup
    from modelward.deploy import DeploymentInfo, Deployments, Target
    from modelward.evaluation import Evaluation, evaluate_version
    from modelward.lifecycle.retention import apply_clean, plan_clean
    from modelward.llm.fleet import LLMFleet
    from modelward.llm.gateway import create_gateway_app
    from modelward.monitoring import CheckResult, Monitor
    from modelward.policy import Policy
    from modelward.predlog import LogWriter
    from modelward.registry import Stage
    from modelward.reports.card import write_card
    from modelward.rollout.engine import RolloutEngine
    from modelward.training import TrainingConfig, TrainResult, train_model
    from modelward.training import load_config as load_training_config
    from modelward.training.optimize import optimize_version
    from modelward.validation import ValidationReport, validate_version
    from modelward.workspace import Workspace

#: Public name -> (module, attribute): imported on first use, so ``import modelward`` (and
#: every CLI command, and the server's start) loads only what it touches.
_LAZY = {
    "CheckResult": ("modelward.monitoring", "CheckResult"),
    "DeploymentInfo": ("modelward.deploy", "DeploymentInfo"),
    "Deployments": ("modelward.deploy", "Deployments"),
    "Evaluation": ("modelward.evaluation", "Evaluation"),
    "LLMFleet": ("modelward.llm.fleet", "LLMFleet"),
    "LogWriter": ("modelward.predlog", "LogWriter"),
    "Monitor": ("modelward.monitoring", "Monitor"),
    "Policy": ("modelward.policy", "Policy"),
    "RolloutEngine": ("modelward.rollout.engine", "RolloutEngine"),
    "Stage": ("modelward.registry", "Stage"),
    "Target": ("modelward.deploy", "Target"),
    "TrainResult": ("modelward.training", "TrainResult"),
    "TrainingConfig": ("modelward.training", "TrainingConfig"),
    "ValidationReport": ("modelward.validation", "ValidationReport"),
    "Workspace": ("modelward.workspace", "Workspace"),
    "apply_clean": ("modelward.lifecycle.retention", "apply_clean"),
    "create_backup": ("modelward.backup.archive", "create_backup"),
    "create_gateway_app": ("modelward.llm.gateway", "create_gateway_app"),
    "evaluate_version": ("modelward.evaluation", "evaluate_version"),
    "load_training_config": ("modelward.training", "load_config"),
    "optimize_version": ("modelward.training.optimize", "optimize_version"),
    "plan_clean": ("modelward.lifecycle.retention", "plan_clean"),
    "restore_backup": ("modelward.backup.restore", "restore_backup"),
    "train_model": ("modelward.training", "train_model"),
    "validate_version": ("modelward.validation", "validate_version"),
    "verify_backup": ("modelward.backup.archive", "verify_backup"),
    "write_card": ("modelward.reports.card", "write_card"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError as exc:
        raise AttributeError(f"module 'modelward' has no attribute {name!r}") from exc
    import importlib

    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "ArtifactDamaged",
    "ArtifactError",
    "AuthError",
    "BudgetExceeded",
    "CheckFailed",
    "CheckResult",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DependencyError",
    "DeploymentInfo",
    "Deployments",
    "Evaluation",
    "InvalidJSON",
    "InvalidName",
    "LLMFleet",
    "LogUnavailable",
    "LogWriter",
    "MethodNotAllowed",
    "ModelFailed",
    "ModelTimeout",
    "ModelwardError",
    "Monitor",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "RaceLost",
    "RequestError",
    "RolloutEngine",
    "SchemaError",
    "Stage",
    "StorageError",
    "Target",
    "TrainResult",
    "TrainingConfig",
    "TransitionError",
    "UserError",
    "ValidationReport",
    "Workspace",
    "WorkspaceError",
    "WorkspaceTooNew",
    "apply_clean",
    "create_backup",
    "create_gateway_app",
    "evaluate_version",
    "load_training_config",
    "optimize_version",
    "plan_clean",
    "restore_backup",
    "train_model",
    "validate_version",
    "verify_backup",
    "write_card",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
