"""modelward: a model-management runbook you can execute.

The public Python API is re-exported here; ``docs/python-api.md`` lists the same names
and a test keeps the two in step.
"""

from modelward.backup.archive import create_backup, verify_backup
from modelward.backup.restore import restore_backup
from modelward.deploy import DeploymentInfo, Deployments, Target
from modelward.errors import (
    AlreadyExists,
    ArtifactError,
    BudgetExceeded,
    CheckFailed,
    ConfigError,
    ConflictError,
    DataError,
    InvalidName,
    ModelwardError,
    NotFound,
    PolicyError,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    RequestError,
    SchemaError,
    StorageError,
    TransitionError,
    WorkspaceError,
    WorkspaceTooNew,
)
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

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "ArtifactError",
    "BudgetExceeded",
    "CheckFailed",
    "CheckResult",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DeploymentInfo",
    "Deployments",
    "Evaluation",
    "InvalidName",
    "LLMFleet",
    "LogWriter",
    "ModelwardError",
    "Monitor",
    "NotFound",
    "Policy",
    "PolicyError",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "RequestError",
    "RolloutEngine",
    "SchemaError",
    "Stage",
    "StorageError",
    "Target",
    "TrainResult",
    "TrainingConfig",
    "TransitionError",
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
