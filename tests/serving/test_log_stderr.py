"""The server's JSON log lines go to the stderr of the moment: a process that swapped its
stderr and closed the old one (an application embedding the server, a test runner that
captured a command's output) still gets every line, and no "--- Logging error ---"."""

from __future__ import annotations

import io
import json
import logging
import sys

from modelward.serving.logs import configure_logging


def test_lines_follow_a_swapped_stderr(monkeypatch, capsys):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info")
    logging.getLogger("modelward.serving").info("one", extra={"model": "m"})
    first.close()  # the stderr the server started with is gone
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("modelward.serving").info("two", extra={"token": "mw_secretsecret1"})
    lines = [json.loads(line) for line in second.getvalue().splitlines()]
    assert [(line["message"], line["logger"]) for line in lines] == [("two", "modelward.serving")]
    assert "mw_secretsecret1" not in second.getvalue()  # still redacted
    assert "Logging error" not in capsys.readouterr().err
