"""HTTP-only members of the error tree (drawn in :mod:`modelward.errors`)."""

from __future__ import annotations

from modelward.errors import ModelwardError

__all__ = [
    "AuthError",
    "InvalidJSON",
    "MethodNotAllowed",
    "ModelFailed",
    "ModelTimeout",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
]


class AuthError(ModelwardError):
    code = "unauthorized"
    status = 401


class PermissionDenied(AuthError):
    code = "forbidden"
    status = 403


class PayloadTooLarge(ModelwardError):
    code = "payload_too_large"
    status = 413


class InvalidJSON(ModelwardError):
    code = "invalid_json"
    status = 400


class MethodNotAllowed(ModelwardError):
    """Answered with an ``Allow`` header naming the methods the route takes."""

    code = "method_not_allowed"
    status = 405

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message, field="method")
        self.headers = [(b"allow", ", ".join(allow).encode())]


class ModelFailed(ModelwardError):
    """The model raised on valid inputs: the model's problem, not the server's (a bug)."""

    code = "model_failed"
    status = 500


class ModelTimeout(ModelFailed):
    code = "model_timeout"
    status = 504


class Overloaded(ModelwardError):
    """Work is queued faster than a background path drains it: retry shortly."""

    code = "overloaded"
    status = 503

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.headers = [(b"retry-after", str(retry_after_s).encode())]
