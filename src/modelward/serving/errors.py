"""HTTP-only members of the error tree (drawn in :mod:`modelward.errors`)."""

from __future__ import annotations

from modelward.errors import ModelwardError

__all__ = [
    "AuthError",
    "InvalidJSON",
    "MethodNotAllowed",
    "ModelFailed",
    "ModelTimeout",
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
    code = "method_not_allowed"
    status = 405


class ModelFailed(ModelwardError):
    """The model raised on valid inputs: the model's problem, not the server's (a bug)."""

    code = "model_failed"
    status = 500


class ModelTimeout(ModelFailed):
    code = "model_timeout"
    status = 504
