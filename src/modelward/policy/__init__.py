"""Thresholds and weights from ``policy.yml`` (the runbooks' numbers by default)."""

from modelward.policy.io import dump_policy, load_policy, parse_policy
from modelward.policy.model import Policy

__all__ = ["Policy", "dump_policy", "load_policy", "parse_policy"]
