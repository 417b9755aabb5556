"""modelward: a model-management runbook you can execute.

The public Python API is re-exported here (lazily, on first use); ``docs/python-api.md``
lists the same names and a test keeps the two in step.
"""

from typing import TYPE_CHECKING

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
from modelward.lazy import lazy_exports

if TYPE_CHECKING:
    from modelward.backup.archive import create_backup, verify_backup
    from modelward.backup.restore import restore_backup
    from modelward.data import read_data
    from modelward.data.profile import profile_data
    from modelward.data.validate import validate_data
    from modelward.deploy import DeploymentInfo, Deployments, Target
    from modelward.deploy.environments import check_environment
    from modelward.evaluation import Evaluation, evaluate_version
    from modelward.evaluation.cases import run_cases
    from modelward.lifecycle.archive import archive_logs
    from modelward.lifecycle.compaction import compact_logs
    from modelward.lifecycle.pipeline import promote
    from modelward.lifecycle.retention import apply_clean, plan_clean
    from modelward.lifecycle.review import apply_review
    from modelward.lifecycle.review import review as review_lifecycle
    from modelward.llm.fake import FakeServer
    from modelward.llm.fleet import LLMFleet
    from modelward.llm.gateway import create_gateway_app
    from modelward.monitoring import CheckResult, Monitor
    from modelward.monitoring.checks.drift import parse_methods as parse_drift_methods
    from modelward.monitoring.watch import watch as watch_models
    from modelward.policy import Policy, dump_policy, load_policy
    from modelward.predlog import LogWriter
    from modelward.registry import Stage
    from modelward.reports.card import write_card
    from modelward.rollout.engine import RolloutEngine
    from modelward.serving.run import ServeOptions, serve
    from modelward.serving.standalone import run_gateway
    from modelward.training import TrainingConfig, TrainResult, train_model
    from modelward.training import load_config as load_training_config
    from modelward.training.environment import environment_report
    from modelward.training.optimize import optimize_version
    from modelward.ui.run import run_dashboard
    from modelward.validation import ValidationReport, validate_version
    from modelward.verification import verify as verify_deployment
    from modelward.verification.benchmark import benchmark as benchmark_server
    from modelward.workspace import Workspace

#: Public name -> (module, attribute): imported on first use, so ``import modelward`` (and
#: every CLI command, and the server's start) loads only what it touches.
_LAZY = {
    "CheckResult": ("modelward.monitoring", "CheckResult"),
    "DeploymentInfo": ("modelward.deploy", "DeploymentInfo"),
    "Deployments": ("modelward.deploy", "Deployments"),
    "Evaluation": ("modelward.evaluation", "Evaluation"),
    "FakeServer": ("modelward.llm.fake", "FakeServer"),
    "LLMFleet": ("modelward.llm.fleet", "LLMFleet"),
    "LogWriter": ("modelward.predlog", "LogWriter"),
    "Monitor": ("modelward.monitoring", "Monitor"),
    "Policy": ("modelward.policy", "Policy"),
    "RolloutEngine": ("modelward.rollout.engine", "RolloutEngine"),
    "ServeOptions": ("modelward.serving.run", "ServeOptions"),
    "Stage": ("modelward.registry", "Stage"),
    "Target": ("modelward.deploy", "Target"),
    "TrainResult": ("modelward.training", "TrainResult"),
    "TrainingConfig": ("modelward.training", "TrainingConfig"),
    "ValidationReport": ("modelward.validation", "ValidationReport"),
    "Workspace": ("modelward.workspace", "Workspace"),
    "apply_clean": ("modelward.lifecycle.retention", "apply_clean"),
    "apply_review": ("modelward.lifecycle.review", "apply_review"),
    "archive_logs": ("modelward.lifecycle.archive", "archive_logs"),
    "benchmark_server": ("modelward.verification.benchmark", "benchmark"),
    "check_environment": ("modelward.deploy.environments", "check_environment"),
    "compact_logs": ("modelward.lifecycle.compaction", "compact_logs"),
    "create_backup": ("modelward.backup.archive", "create_backup"),
    "create_gateway_app": ("modelward.llm.gateway", "create_gateway_app"),
    "dump_policy": ("modelward.policy", "dump_policy"),
    "environment_report": ("modelward.training.environment", "environment_report"),
    "evaluate_version": ("modelward.evaluation", "evaluate_version"),
    "load_policy": ("modelward.policy", "load_policy"),
    "load_training_config": ("modelward.training", "load_config"),
    "optimize_version": ("modelward.training.optimize", "optimize_version"),
    "parse_drift_methods": ("modelward.monitoring.checks.drift", "parse_methods"),
    "plan_clean": ("modelward.lifecycle.retention", "plan_clean"),
    "profile_data": ("modelward.data.profile", "profile_data"),
    "read_data": ("modelward.data", "read_data"),
    "promote": ("modelward.lifecycle.pipeline", "promote"),
    "restore_backup": ("modelward.backup.restore", "restore_backup"),
    "review_lifecycle": ("modelward.lifecycle.review", "review"),
    "run_cases": ("modelward.evaluation.cases", "run_cases"),
    "run_dashboard": ("modelward.ui.run", "run_dashboard"),
    "run_gateway": ("modelward.serving.standalone", "run_gateway"),
    "serve": ("modelward.serving.run", "serve"),
    "train_model": ("modelward.training", "train_model"),
    "validate_data": ("modelward.data.validate", "validate_data"),
    "validate_version": ("modelward.validation", "validate_version"),
    "verify_backup": ("modelward.backup.archive", "verify_backup"),
    "verify_deployment": ("modelward.verification", "verify"),
    "watch_models": ("modelward.monitoring.watch", "watch"),
    "write_card": ("modelward.reports.card", "write_card"),
}


__getattr__ = lazy_exports(__name__, _LAZY)


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
    "FakeServer",
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
    "ServeOptions",
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
    "apply_review",
    "archive_logs",
    "benchmark_server",
    "check_environment",
    "compact_logs",
    "create_backup",
    "create_gateway_app",
    "dump_policy",
    "environment_report",
    "evaluate_version",
    "load_policy",
    "load_training_config",
    "optimize_version",
    "parse_drift_methods",
    "plan_clean",
    "profile_data",
    "promote",
    "read_data",
    "restore_backup",
    "review_lifecycle",
    "run_cases",
    "run_dashboard",
    "run_gateway",
    "serve",
    "train_model",
    "validate_data",
    "validate_version",
    "verify_backup",
    "verify_deployment",
    "watch_models",
    "write_card",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
