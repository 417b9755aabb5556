"""Thresholds and weights from ``policy.yml`` (the runbooks' numbers by default)."""

from modelward.policy.io import check_models, dump_policy, load_policy, parse_policy
from modelward.policy.merge import SectionError
from modelward.policy.model import Limit, Policy
from modelward.policy.sources import explain

__all__ = [
    "Limit",
    "Policy",
    "SectionError",
    "check_models",
    "dump_policy",
    "explain",
    "load_policy",
    "parse_policy",
]
