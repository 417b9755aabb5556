"""HTTP-only members of the error tree (drawn in :mod:`modelward.errors`)."""

from __future__ import annotations

from modelward.errors import ModelwardError

__all__ = ["AuthError", "InvalidJSON", "MethodNotAllowed", "PayloadTooLarge", "PermissionDenied"]


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
