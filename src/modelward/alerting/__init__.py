"""Alerting: the one path by which anything in modelward tells people what happened.

Two kinds of message, each a :class:`~.notice.Notice` handed to the sinks of
``policy.yml`` (``alerts.sinks``):

- **alerts** (:class:`~.alerts.Alerts`): a condition that holds until it is resolved —
  a failed monitoring check, an LLM budget at 90 %. Stored in the ``alerts`` table under a
  dedupe key (the *fingerprint*); a repeat within ``alerts.dedupe_window`` only counts, an
  escalation or a repeat after the window is sent again, and the alert is *resolved* (and
  the resolution sent) when the check passes again.
- **notifications** (:meth:`Alerting.notify`): something that happened once — a rollout
  advanced, promoted or rolled back, a version moved stage (forced past a gate, or by the
  lifecycle review or the promote pipeline). Not stored here: history keeps them.

Each message has a source (``monitor``, ``llm``, ``rollout``, ``lifecycle``), an event name
and a level (``info`` < ``warning`` < ``critical``); a sink takes what reaches its
``min_level`` from the ``sources`` it lists. Sinks are a family in :mod:`.sinks`. This
package imports only the store and the policy, so the registry, rollouts, lifecycle and
the LLM fleet use it without pulling in monitoring.
"""

from modelward.alerting.alerts import AlertInfo, Alerts, fingerprint
from modelward.alerting.dispatch import Alerting
from modelward.alerting.notice import LEVELS, SOURCES, Notice

__all__ = ["LEVELS", "SOURCES", "AlertInfo", "Alerting", "Alerts", "Notice", "fingerprint"]
