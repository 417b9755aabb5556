"""The rollout controller inside the server (``modelward serve --rollout-controller``).

The same engine step as ``modelward rollout run``, in a daemon thread: one pass over the
live rollouts each check interval, under the same lease, so it can run beside other
controllers (or in every worker of ``--workers N``) and only one acts on a rollout. A
failing pass is logged and retried at the next interval; it never stops the server.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from modelward.rollout.engine import RolloutEngine

if TYPE_CHECKING:
    from modelward.errors import ModelwardError
    from modelward.rollout.records import Decision
    from modelward.workspace import Workspace

__all__ = ["BackgroundController"]

log = logging.getLogger("modelward.rollout")


class BackgroundController:
    def __init__(
        self,
        workspace: Workspace,
        *,
        interval: float | None = None,
        lease: timedelta | None = None,
    ) -> None:
        self.ws = workspace
        self.interval = interval
        self.lease = lease
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rollout-controller", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current pass and give up the leases it holds."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        engine = RolloutEngine(self.ws, lease=self.lease)
        log.info("rollout controller started", extra={"owner": engine.owner})
        while not self._stop.is_set():
            wait = 5.0
            try:
                engine.run(once=True, on_decision=_log, on_failure=_failed, keep_leases=True)
                wait = self.interval or engine.wait_seconds(engine.list_rollouts(live=True))
            except Exception as exc:  # noqa: BLE001 - log, keep serving, try again later
                log.error("rollout controller pass failed: %s", getattr(exc, "message", exc))
            self.passes += 1
            self._stop.wait(wait)
        try:
            engine.release_leases()
        except Exception as exc:  # noqa: BLE001 - the claims then simply run out
            log.warning("rollout controller could not release its leases: %s", exc)
        log.info("rollout controller stopped", extra={"owner": engine.owner})


def _failed(rollout_id: int, exc: ModelwardError) -> None:
    log.error(
        "rollout #%s: %s; the next pass tries again", rollout_id, exc.message,
        extra={"rollout": rollout_id},
    )  # fmt: skip


def _log(decision: Decision) -> None:
    if decision.action in ("wait", "skipped", "idle"):
        return
    log.info(
        f"rollout #{decision.rollout_id} at {decision.weight:g} %: {decision.action} — "
        f"{decision.reason}",
        extra={"rollout": decision.rollout_id, "action": decision.action},
    )
