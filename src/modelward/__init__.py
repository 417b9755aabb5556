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
from modelward.policy import Policy
from modelward.registry import Stage
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
    "InvalidName",
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
    "TransitionError",
    "Workspace",
    "WorkspaceError",
    "WorkspaceTooNew",
]
