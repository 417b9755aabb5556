"""Validation gates: performance, bias, robustness and security against the policy."""

from modelward.validation.checks import Check
from modelward.validation.validate import ALL_CHECKS, ValidationReport, validate_version

__all__ = ["ALL_CHECKS", "Check", "ValidationReport", "validate_version"]
