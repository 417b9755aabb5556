"""Lifecycle upkeep: the gated update pipeline, retention (``clean``), retirement, and the
prediction log's compaction (``modelward logs compact``)."""

from modelward.lifecycle.pipeline import PipelineResult, StageResult, promote
from modelward.lifecycle.retention import CleanPlan, apply_clean, plan_clean
from modelward.lifecycle.review import Proposal, apply_review, review

__all__ = [
    "CleanPlan",
    "PipelineResult",
    "Proposal",
    "StageResult",
    "apply_clean",
    "apply_review",
    "plan_clean",
    "promote",
    "review",
]
