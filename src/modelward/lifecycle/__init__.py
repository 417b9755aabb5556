"""Lifecycle upkeep: retention (``clean``) and the retirement review."""

from modelward.lifecycle.retention import CleanPlan, apply_clean, plan_clean
from modelward.lifecycle.review import Proposal, apply_review, review

__all__ = ["CleanPlan", "Proposal", "apply_clean", "apply_review", "plan_clean", "review"]
