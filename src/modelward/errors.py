"""The one exception tree of modelward.

    ModelwardError                  root: a one-line message that names the problem and the fix
    ├── UserError                   YOUR INPUT IS WRONG: exit 2, HTTP 4xx
    │   ├── WorkspaceError          no workspace here, or one we cannot open
    │   │   └── WorkspaceTooNew     written by a newer modelward
    │   ├── PolicyError             policy.yml is malformed (which key, which value, why)
    │   ├── ConfigError             a config file or option value is wrong
    │   ├── DataError               a data file is missing, empty, unreadable or lacks a column
    │   │   └── LogChanged          a log file was compacted while a check read it; the check
    │   │                           lists again (modelward.predlog.files.relisted)
    │   ├── NotFound                an unknown model, version, alias, run, route ... (404)
    │   ├── AlreadyExists           a name that is already taken (409)
    │   ├── InvalidName             a name that breaks the naming rules (422)
    │   ├── TransitionError         a lifecycle move the state machine or a gate forbids (409)
    │   ├── ConflictError           what you acted on changed since you read it (409)
    │   │   └── RaceLost            another process made the same change at the same moment
    │   ├── ArtifactError           a model file or backup that is not loadable, or untrusted (422)
    │   ├── SchemaError             inputs that do not match a version's input schema (422)
    │   ├── RequestError            an HTTP request body that is malformed (400)
    │   ├── InvalidJSON             a request body that is not JSON (400)
    │   ├── PayloadTooLarge         a request body over the server's limit (413)
    │   ├── MethodNotAllowed        a route called with the wrong HTTP method (405, with Allow)
    │   ├── AuthError               no, unknown or revoked API token (401)
    │   │   └── PermissionDenied    the token lacks the scope (403)
    │   └── BudgetExceeded          an LLM call would pass a per-key or monthly budget (429)
    └── DependencyError             SOMETHING WE DEPEND ON FAILED: exit 3, HTTP 5xx; not your input
        ├── StorageError            the metadata DB, artifact store or log storage failed (503)
        │   ├── ArtifactDamaged     a stored artifact is missing or fails its sha256 check
        │   └── LogUnavailable      the prediction log cannot take a row now (503, Retry-After)
        ├── ProviderError           an LLM provider call failed after retries (502)
        │   ├── ProviderAuthError   the provider refused the API key (502)
        │   ├── ProviderRateLimited still 429 after the retries (429, Retry-After honoured)
        │   ├── ProviderTimeout     no answer within the configured timeout (504)
        │   └── ProviderBadResponse an answer that is not the provider's documented shape (502)
        ├── ModelFailed             the served model raised on valid inputs (500)
        │   └── ModelTimeout        ... or gave no answer within serving.predict_timeout_s (504)
        └── Overloaded              work arrives faster than a background path drains it (503)

    CheckFailed                     not an error of ours or yours: a check ran and found a
                                    problem (exit 1, naming the numbers and thresholds)

Every class carries ``exit_code`` and ``status`` (the HTTP status the server answers with)
and ``code`` (the JSON error code), so the CLI (``modelward.cli.app``) and the HTTP edge
translate errors in one place each. Errors of the libraries underneath (SQLAlchemy,
fsspec, DuckDB, httpx, OSError) are translated where they enter our code with
``raise … from exc``: the message is one line for the person reading it; the chained
cause stays for the logs (the server logs it for every 5xx; the CLI prints it with
``--debug``).

Exit codes: 0 success · 1 a check failed · 2 a user mistake · 3 a dependency failed.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ArtifactDamaged",
    "ArtifactError",
    "AuthError",
    "BudgetExceeded",
    "CheckFailed",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DependencyError",
    "InvalidJSON",
    "InvalidName",
    "LogUnavailable",
    "MethodNotAllowed",
    "ModelFailed",
    "ModelTimeout",
    "ModelwardError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "PolicyError",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "RaceLost",
    "RequestError",
    "SchemaError",
    "StorageError",
    "TransitionError",
    "UserError",
    "WorkspaceError",
    "WorkspaceTooNew",
    "described",
    "first_line",
]

#: Exit code of a user mistake and of a failure of something we depend on.
EXIT_USER = 2
EXIT_DEPENDENCY = 3


class ModelwardError(Exception):
    """The root of modelward's errors. The message names the problem and says what to do."""

    exit_code = EXIT_USER
    status = 400
    code = "bad_request"
    #: extra HTTP headers the server sends with this error (``Allow``, ``Retry-After``)
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


# -- the user's mistakes: exit 2, HTTP 4xx -----------------------------------------------


class UserError(ModelwardError):
    """Your input is wrong: a file, a flag, a config value, a request. Exit 2, HTTP 4xx."""


class WorkspaceError(UserError):
    code = "workspace"


class WorkspaceTooNew(WorkspaceError):
    code = "workspace_too_new"


class PolicyError(UserError):
    code = "policy"


class ConfigError(UserError):
    code = "config"


class DataError(UserError):
    code = "data"
    status = 422


class NotFound(UserError):
    code = "not_found"
    status = 404


class AlreadyExists(UserError):
    code = "already_exists"
    status = 409


class InvalidName(UserError):
    code = "invalid_name"
    status = 422


class TransitionError(UserError):
    code = "transition"
    status = 409


class ConflictError(UserError):
    """What the command acted on changed since it read it: read again and retry."""

    code = "conflict"
    status = 409


class RaceLost(ConflictError):
    """Another process made the same change at the same moment (a unique key, a lease):
    the database refused the second. Callers that expect races catch this type."""

    code = "race_lost"


class ArtifactError(UserError):
    code = "artifact"
    status = 422


class SchemaError(UserError):
    code = "schema"
    status = 422


class RequestError(UserError):
    code = "invalid_request"
    status = 400


class InvalidJSON(UserError):
    code = "invalid_json"
    status = 400


class PayloadTooLarge(UserError):
    code = "payload_too_large"
    status = 413


class MethodNotAllowed(UserError):
    """Answered with an ``Allow`` header naming the methods the route takes."""

    code = "method_not_allowed"
    status = 405

    def __init__(
        self, message: str, *, allow: tuple[str, ...] = (), field: str | None = "method"
    ) -> None:
        super().__init__(message, field=field)
        self.headers = ((b"allow", ", ".join(allow).encode()),)


class AuthError(UserError):
    code = "unauthorized"
    status = 401


class PermissionDenied(AuthError):
    code = "forbidden"
    status = 403


class BudgetExceeded(UserError):
    code = "budget_exceeded"
    status = 429


# -- failures of what we depend on: exit 3, HTTP 5xx --------------------------------------


class DependencyError(ModelwardError):
    """Something modelward depends on failed (storage, database, provider, a model): not the
    user's mistake, and a retry may succeed. Exit 3, HTTP 5xx."""

    exit_code = EXIT_DEPENDENCY
    status = 503
    code = "unavailable"


class StorageError(DependencyError):
    code = "storage"
    status = 503
    headers: tuple[tuple[bytes, bytes], ...] = ((b"retry-after", b"1"),)


class ArtifactDamaged(StorageError):
    """A stored artifact is missing or its bytes no longer match their sha256."""

    code = "artifact_damaged"
    headers = ()


class LogUnavailable(StorageError):
    """The write-ahead folder refused a row (disk full): the request was not answered."""

    code = "log_unavailable"


class ProviderError(DependencyError):
    code = "provider"
    status = 502
    headers = ()


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


class ModelFailed(DependencyError):
    """The model raised on valid inputs: the model's problem, not the server's (a bug)."""

    code = "model_failed"
    status = 500
    headers = ()


class ModelTimeout(ModelFailed):
    code = "model_timeout"
    status = 504


class Overloaded(DependencyError):
    """Work is queued faster than a background path drains it: retry shortly."""

    code = "overloaded"
    status = 503

    def __init__(self, message: str, *, retry_after_s: int = 5, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.headers = ((b"retry-after", str(retry_after_s).encode()),)


# -- a check that ran ----------------------------------------------------------------------


class CheckFailed(Exception):
    """A check ran and found a problem. Not a mistake: exit 1."""

    exit_code = 1

    def __init__(self, message: str, *, result: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


def first_line(exc: BaseException) -> str:
    """The first line of what ``exc`` says, or its type's name when it says nothing: what
    a message of ours quotes of a library's error (one line, never a stack)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def described(exc: BaseException) -> str:
    """``Type: first line`` of ``exc`` (the type alone when it says nothing)."""
    said, name = first_line(exc), type(exc).__name__
    return name if said == name else f"{name}: {said}"
