"""Notices as one line on stderr: ``ALERT [critical] …``, ``RESOLVED …``, ``NOTICE [info] …``."""

from __future__ import annotations

import sys

from modelward.alerting.notice import Notice

__all__ = ["ConsoleSink"]

_WORD = {"firing": "ALERT", "resolved": "RESOLVED", None: "NOTICE"}


class ConsoleSink:
    def send(self, notice: Notice) -> None:
        sys.stderr.write(f"{_WORD[notice.status]} [{notice.level}] {notice.message}\n")
        sys.stderr.flush()
