"""The server process: route groups on the HTTP edge, and what runs beside them.

Mounted: the prediction API (:mod:`modelward.serving.routes`), the LLM gateway when the
workspace has ``llm.yml`` (:mod:`modelward.llm.gateway.routes`), health / readiness /
metrics, the docs and the dashboard (``/ui/``). Every route checks the server's tokens
(``ServingState.auth_on``). Beside the routes: the deployment watcher, the prediction-log
writer, feedback resolution and, with ``--rollout-controller``, the rollout controller;
started before the first request, stopped after the last, the log flushed last.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from modelward.http.app import App, Group
from modelward.http.auth import Auth
from modelward.http.docs import Docs
from modelward.http.ops import Operations
from modelward.serving.feedback import Feedback
from modelward.serving.predict import Predictor
from modelward.serving.routes import PredictionRoutes
from modelward.ui import Dashboard

if TYPE_CHECKING:
    from modelward.predlog.writer import LogWriter
    from modelward.serving.metrics import ServerMetrics
    from modelward.serving.state import ServingState

__all__ = ["ServingApp"]

log = logging.getLogger("modelward.serving")


class ServingApp(App):
    def __init__(
        self,
        state: ServingState,
        writer: LogWriter,
        metrics: ServerMetrics,
        *,
        default_env: str = "production",
        on_ready: Any = None,
        gateway: Group | None = None,
        controller: Any = None,
        predict_timeout_s: float = 30.0,
    ) -> None:
        self.controller = controller  # the rollout controller thread (--rollout-controller)
        self.writer = writer
        self.metrics = metrics
        self.on_ready = on_ready
        self.log_flushed = False  # set at shutdown: everything logged reached Parquet
        self.recent: OrderedDict[str, str] = OrderedDict()  # request id -> model
        self.feedback = Feedback(
            state,
            writer,
            self.recent,
            on_stored=lambda model: metrics.child(metrics.feedback, model).inc(),
            settle_s=2 * writer.visible_within,  # another process's rows are readable
        )
        predictor = Predictor(
            state,
            writer,
            metrics,
            self.recent,
            default_env=default_env,
            timeout_s=predict_timeout_s,
        )
        groups: list[Group] = [PredictionRoutes(state, predictor, self.feedback, metrics)]
        if gateway is not None:
            groups.append(gateway)
        groups += [
            Operations(
                health=lambda: {"status": "ok"}, ready=self.readiness, metrics_scope="admin"
            ),
            Docs("modelward serve"),
            Dashboard(state.ws, state),
        ]
        super().__init__(groups, auth=Auth(state), on_error=self._count_error, state=state)

    def _count_error(self, code: str) -> None:
        self.metrics.child(self.metrics.http_errors, code).inc()

    # -- lifespan -------------------------------------------------------------------------

    async def startup(self) -> None:
        # the deployments first: the writer's thread imports Arrow, which would hold the
        # GIL while the models load (a slower start)
        await asyncio.to_thread(self.state.start)
        self.writer.start()
        await super().startup()
        import gc
        import sys

        gc.collect()
        gc.freeze()  # startup objects never need scanning again: shorter GC pauses
        sys.setswitchinterval(0.001)  # background threads hand the GIL back sooner

    def ready(self) -> None:
        if self.controller is not None:
            self.controller.start()
        if self.on_ready is not None:
            self.on_ready()

    async def shutdown(self) -> None:
        if self.controller is not None:
            await asyncio.to_thread(self.controller.stop)
        self.state.stop()
        await super().shutdown()  # the groups: the gateway flushes its usage and log
        await asyncio.to_thread(self.feedback.close)  # pending labels, then the log
        self.log_flushed = await asyncio.to_thread(self.writer.close)
        _log_stopped(self.writer)

    # -- readiness ------------------------------------------------------------------------

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Deployments loaded, the metadata DB answering, the log taking rows; else why."""
        state = self.state
        routes = [
            {
                "model": r.model,
                "environment": r.environment,
                "revision": r.revision,
                "targets": [[v, w] for v, w in r.targets],
            }
            for r in state.routes.values()
        ]
        failures = [
            {"model": model, "environment": env, "error": error}
            for (model, env), error in state.failures.items()
        ]
        reason = self._unready(failures)
        body = {
            "status": "not ready" if reason else "ready",
            "db": state.db_ok,
            "routes": routes,
            "failures": failures,
            "log": {
                "queued_rows": self.writer.queued,
                "problem": self.writer.problem,
                "wal_bytes": self.writer.wal_bytes,
                "wal_max_bytes": self.writer.max_wal_bytes,
                "warning": self.writer.wal_warning,
            },
        }
        for group in self.groups:
            body.update(group.detail())
        if reason:
            body["reason"] = reason
        return not reason, body

    def _unready(self, failures: list[dict[str, str]]) -> str:
        """Why this server is not ready ("" when it is)."""
        state = self.state
        reasons = []
        if not state.db_ok:
            reasons.append(state.db_error or "the metadata database has not answered yet")
        elif not state.loaded:
            reasons.append("the deployments are not loaded yet")
        reasons += [
            f"cannot load {f['model']} for {f['environment']}: {f['error']}" for f in failures
        ]
        if self.writer.problem:
            reasons.append(self.writer.problem)
        return "; ".join(reasons)


def _log_stopped(writer: LogWriter) -> None:
    """The shutdown line: "flushed" only when everything logged reached Parquet."""
    counts = {"rows_written": writer.written_rows, "dropped": writer.dropped}
    if writer.flushed:
        log.info("stopped; prediction log flushed", extra=counts)
        return
    log.error(
        "stopped; prediction log NOT flushed: %d rows stay in the write-ahead folder %s and "
        "are published by the next start",
        writer.queued,
        writer.wal_dir,
        extra={**counts, "queued_rows": writer.queued},
    )
