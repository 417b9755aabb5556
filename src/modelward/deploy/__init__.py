"""Deployments: environment -> versions with traffic weights, with a rollback target."""

from modelward.deploy.deployments import (
    ENVIRONMENTS,
    DeploymentInfo,
    Deployments,
    Target,
)
from modelward.deploy.routing import pick_version

__all__ = ["ENVIRONMENTS", "DeploymentInfo", "Deployments", "Target", "pick_version"]
