"""Who a change or a record is by: ``$MODELWARD_ACTOR``, else ``user@host``."""

from __future__ import annotations

import getpass
import os
import socket

__all__ = ["default_actor"]


def default_actor() -> str:
    actor = os.environ.get("MODELWARD_ACTOR")
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
