"""Notices as JSON lines appended to a file (one line per notice, written whole)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from modelward.alerting.notice import Notice
from modelward.errors import ConfigError

__all__ = ["FileSink"]


class FileSink:
    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()

    def send(self, notice: Notice) -> None:
        line = (json.dumps(notice.to_dict(), default=str, sort_keys=True) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write alerts to {self.path}: {exc.strerror}; fix alerts.sinks in "
                "policy.yml"
            ) from exc
        try:
            os.write(fd, line)  # one write with O_APPEND: lines from processes never interleave
        finally:
            os.close(fd)
