"""modelward: a model-management runbook you can execute.

The public Python API is re-exported here; ``docs/python-api.md`` lists the same names
and a test keeps the two in step.
"""

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
from modelward.llm.fleet import LLMFleet
from modelward.llm.gateway import create_gateway_app
from modelward.policy import Policy
from modelward.registry import Stage
from modelward.reports.card import write_card
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
    "ConfigError",
    "ConflictError",
    "DataError",
    "Evaluation",
    "InvalidName",
    "LLMFleet",
    "ModelwardError",
    "NotFound",
    "Policy",
    "PolicyError",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "RequestError",
    "SchemaError",
    "Stage",
    "StorageError",
    "TrainResult",
    "TrainingConfig",
    "TransitionError",
    "ValidationReport",
    "Workspace",
    "WorkspaceError",
    "WorkspaceTooNew",
    "create_gateway_app",
    "evaluate_version",
    "load_training_config",
    "optimize_version",
    "train_model",
    "validate_version",
    "write_card",
]
