"""JSON log lines on stderr: one object per line, never a token or a DB password."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from modelward.redact import redact

__all__ = ["JsonFormatter", "StderrHandler", "configure_logging"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(out, default=str).decode())


class StderrHandler(logging.StreamHandler):
    """Lines to whatever ``sys.stderr`` is when each is written: a process that swaps its
    stderr (an embedding application, a test runner capturing a command's output) never
    leaves the server's threads writing to a stream that was closed since."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure_logging(level: str = "info") -> None:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("modelward", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
