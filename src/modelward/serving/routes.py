"""The prediction API as a route group of the HTTP edge.

``POST /v1/models/{name}/predict`` (scope ``predict``), ``GET /v1/models/{name}``
(``predict``), ``POST /v1/feedback`` and ``GET /v1/feedback/{ticket}`` (``feedback``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modelward.errors import NotFound
from modelward.http.app import Group
from modelward.http.response import Response, json_response
from modelward.http.router import Route
from modelward.serving import openapi
from modelward.serving.payload import feedback_items

if TYPE_CHECKING:
    from modelward.http.request import Request
    from modelward.serving.feedback import Feedback
    from modelward.serving.metrics import ServerMetrics
    from modelward.serving.predict import Predictor
    from modelward.serving.state import ServingState

__all__ = ["PredictionRoutes"]


class PredictionRoutes(Group):
    def __init__(
        self,
        state: ServingState,
        predictor: Predictor,
        feedback: Feedback,
        metrics: ServerMetrics,
    ) -> None:
        self.state = state
        self.predictor = predictor
        self.feedback = feedback
        self._metrics = metrics

    def metrics(self) -> Sequence[Callable[[], tuple[bytes, str]]]:
        return (self._metrics.render,)

    def routes(self) -> Sequence[Route]:
        return (
            Route(
                "POST",
                "/v1/models/{name}/predict",
                self.predictor.predict,
                scope="predict",
                doc=openapi.PREDICT,
            ),
            Route("GET", "/v1/models/{name}", self.model_info, "predict", openapi.MODEL_INFO),
            Route("POST", "/v1/feedback", self.submit_feedback, "feedback", openapi.FEEDBACK),
            Route("GET", "/v1/feedback/{ticket}", self.ticket, "feedback", openapi.TICKET),
        )

    async def submit_feedback(self, request: Request) -> Response:
        """Labels for ids known in memory are stored now; others go to the resolver (202)."""
        items, single = feedback_items(await request.json())
        status, body, headers = self.feedback.submit(items, single)
        return json_response(body, status, headers)

    async def ticket(self, request: Request) -> Response:
        return json_response(self.feedback.status(request.params["ticket"]))

    async def model_info(self, request: Request) -> Response:
        name = request.params["name"]
        routes = [r for (model, _), r in self.state.routes.items() if model == name]
        if not routes:
            raise NotFound(f"model {name!r} is not deployed on this server", field="name")
        return json_response({"model": name, "deployments": [_deployment(r) for r in routes]})


def _deployment(route: Any) -> dict[str, Any]:
    return {
        "environment": route.environment,
        "revision": route.revision,
        "targets": [{"version": v, "weight": w} for v, w in route.targets],
        "versions": {
            str(v): {
                "task": m.task,
                "path": m.path,
                "path_reason": m.path_reason,
                "inputs": [
                    {"name": c.name, "kind": c.kind, "nullable": c.nullable}
                    for c in m.validator.columns
                ],
            }
            for v, m in route.models.items()
        },
    }
