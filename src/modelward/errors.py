"""The one exception tree of modelward.

    ModelwardError                  a user mistake: one line, names the problem and the fix
    ├── WorkspaceError              no workspace here, or one we cannot open
    │   └── WorkspaceTooNew         written by a newer modelward
    ├── PolicyError                 policy.yml is malformed (which key, which value, why)
    ├── ConfigError                 a config file or option value is wrong
    ├── DataError                   a data file is missing, empty, unreadable or lacks a column
    │   └── LogChanged              a log file was replaced (compacted) while a check read it;
    │                               the check lists again (in modelward.monitoring.logs)
    ├── NotFound                    an unknown model, version, alias, run, deployment ...
    ├── AlreadyExists               a name that is already taken
    ├── InvalidName                 a name that breaks the naming rules
    ├── TransitionError             a lifecycle move the state machine or a gate forbids
    ├── ConflictError               another process changed the same thing at the same moment
    ├── ArtifactError               an artifact is missing, corrupted, or holds an untrusted type
    ├── SchemaError                 inputs that do not match a version's input schema
    ├── StorageError                the metadata DB or artifact store failed underneath us
    │   └── LogUnavailable          the prediction log cannot take a row now (503, retry)
    ├── ProviderError               an LLM provider call failed (after retries)
    │   ├── ProviderAuthError       the provider refused the API key (401/403)
    │   ├── ProviderRateLimited     still 429 after the retries (Retry-After honoured)
    │   ├── ProviderTimeout         no answer within the configured timeout
    │   └── ProviderBadResponse     an answer that is not the provider's documented shape
    ├── BudgetExceeded              an LLM call would pass a per-key or monthly budget
    ├── RequestError                an HTTP request body that is malformed (which field, why)
    ├── AuthError                   no or unknown API token (401; in modelward.serving.errors)
    │   └── PermissionDenied        the token lacks the scope (403)
    ├── PayloadTooLarge             a request body over the server's limit (413)
    ├── InvalidJSON                 a request body that is not JSON (400)
    ├── MethodNotAllowed            a route called with the wrong HTTP method (405, Allow)
    ├── Overloaded                  feedback arrives faster than it is resolved (503, Retry-After)
    └── ModelFailed                 the served model raised on valid inputs (500)
        └── ModelTimeout            ... or gave no answer within serving.predict_timeout_s (504)

    CheckFailed                     not a mistake: a check ran and found a problem (exit 1)

Every class carries ``exit_code`` (2 for user mistakes, 1 for failed checks) and
``status`` (the HTTP status the server answers with), so the CLI and the server
translate errors in one place each.  Backend errors (SQLAlchemy, fsspec, DuckDB, httpx)
are translated where they enter our code and never escape raw.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ArtifactError",
    "BudgetExceeded",
    "CheckFailed",
    "ConfigError",
    "ConflictError",
    "DataError",
    "InvalidName",
    "LogUnavailable",
    "ModelwardError",
    "NotFound",
    "PolicyError",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "RequestError",
    "SchemaError",
    "StorageError",
    "TransitionError",
    "WorkspaceError",
    "WorkspaceTooNew",
]


class ModelwardError(Exception):
    """A user mistake. The message names the problem and says how to fix it."""

    exit_code = 2
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class WorkspaceError(ModelwardError):
    code = "workspace"


class WorkspaceTooNew(WorkspaceError):
    code = "workspace_too_new"


class PolicyError(ModelwardError):
    code = "policy"


class ConfigError(ModelwardError):
    code = "config"


class DataError(ModelwardError):
    code = "data"
    status = 422


class NotFound(ModelwardError):
    code = "not_found"
    status = 404


class AlreadyExists(ModelwardError):
    code = "already_exists"
    status = 409


class InvalidName(ModelwardError):
    code = "invalid_name"
    status = 422


class TransitionError(ModelwardError):
    code = "transition"
    status = 409


class ConflictError(ModelwardError):
    code = "conflict"
    status = 409


class ArtifactError(ModelwardError):
    code = "artifact"
    status = 422


class SchemaError(ModelwardError):
    code = "schema"
    status = 422


class StorageError(ModelwardError):
    code = "storage"
    status = 503
    #: what the server adds to its 503: something we depend on failed, a retry may succeed
    headers = ((b"retry-after", b"1"),)


class LogUnavailable(StorageError):
    """The write-ahead folder refused a row (disk full): the request was not answered."""

    code = "log_unavailable"


class ProviderError(ModelwardError):
    code = "provider"
    status = 502


class ProviderAuthError(ProviderError):
    code = "provider_auth"
    status = 502


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    status = 429


class ProviderTimeout(ProviderError):
    code = "provider_timeout"
    status = 504


class ProviderBadResponse(ProviderError):
    code = "provider_bad_response"
    status = 502


class BudgetExceeded(ModelwardError):
    code = "budget_exceeded"
    status = 429


class RequestError(ModelwardError):
    code = "invalid_request"
    status = 400


class CheckFailed(Exception):
    """A check ran and found a problem. Not a user mistake: exit 1."""

    exit_code = 1

    def __init__(self, message: str, *, result: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
