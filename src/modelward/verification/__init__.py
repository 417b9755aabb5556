"""Verification: does a deployment answer as the registry says it should?

Clients of a deployment, not part of the server: :func:`~.live.verify` replays rows through a
running ``modelward serve`` and compares every answer with the artifact's offline prediction
(``modelward verify``); :func:`~.offline.offline_verify` loads and runs the artifact alone.
The update pipeline (``modelward promote``) takes either as its :data:`~.offline.Verifier`
(:func:`~.live.live_verifier` adapts ``verify`` to it).
"""

from modelward.verification.live import live_verifier, synthetic_rows, verify
from modelward.verification.offline import Verifier, offline_verify

__all__ = ["Verifier", "live_verifier", "offline_verify", "synthetic_rows", "verify"]
