"""Deployments: environment -> versions with traffic weights, with a rollback target."""

from modelward.lazy import lazy_exports

__all__ = [
    "ENVIRONMENTS",
    "DeploymentInfo",
    "Deployments",
    "Target",
    "check_environment",
    "pick_version",
]

# Loaded on first use: the environments' names need no database access.
__getattr__ = lazy_exports(
    __name__,
    {
        "ENVIRONMENTS": "modelward.deploy.environments",
        "check_environment": "modelward.deploy.environments",
        "DeploymentInfo": "modelward.deploy.deployments",
        "Deployments": "modelward.deploy.deployments",
        "Target": "modelward.deploy.deployments",
        "pick_version": "modelward.deploy.routing",
    },
)
