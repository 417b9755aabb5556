"""Lifecycle upkeep: retention (``clean``) and the retirement review."""

from modelward.lifecycle.retention import CleanPlan, apply_clean, plan_clean

__all__ = ["CleanPlan", "apply_clean", "plan_clean"]
