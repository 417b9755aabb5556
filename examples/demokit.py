"""What the demos share: printing steps, running `modelward` commands in this process with
the exit code each step expects, and `modelward serve` in a child process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

__all__ = ["Server", "console", "modelward", "say", "step", "wait_for_log"]

# soft_wrap: commands and paths stay on one line when the output is piped (80 columns)
console = Console(highlight=False, soft_wrap=True)


def step(title: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{title}"))


def say(text: str) -> None:
    console.print(f"[dim]{text}[/dim]")


def modelward(*args: str, expect: int = 0) -> int:
    """Run one `modelward` command in this process, echoing it first.

    ``expect`` is the exit code this step should give: 1 where a check is meant to find a
    problem (the demo shows what that looks like), 2 where a gate is meant to refuse.
    """
    from modelward.cli.main import app

    shown = " ".join(a if " " not in a and a else f'"{a}"' for a in args)
    console.print(f"[bold cyan]$ modelward {shown}[/bold cyan]")
    sys.stdout.flush()
    try:
        code = app(args=list(args), prog_name="modelward", standalone_mode=False) or 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    if code != expect:
        raise SystemExit(f"demo: `modelward {shown}` exited {code}, expected {expect}")
    if code:
        say(f"(exit {code}, as expected)")
    return int(code)


class Server:
    """`modelward serve` in a child process on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        import httpx

        command = [sys.executable, "-m", "modelward.cli.main", "serve", "--port", str(self.port)]
        console.print(f"[bold cyan]$ modelward serve --port {self.port} &[/bold cyan]")
        log = open(self.root.parent / "server.log", "wb")  # noqa: SIM115 - lives with the child
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    say(f"server ready on {self.url} (its JSON log: {log.name})")
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"demo: the server exited early; see {log.name}")
            time.sleep(0.2)
        raise SystemExit(f"demo: the server did not become ready; see {log.name}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # flushes the prediction log, then exits
            self.process.wait(timeout=30)


def wait_for_log(workspace: Path, model: str, labelled: int) -> None:
    """The server writes the log off the request path (its write-ahead segments within a
    moment, Parquet later): wait until the workspace's log shows the labelled rows."""
    from modelward import Workspace
    from modelward.predlog import labelled as labelled_rows

    ws = Workspace.open(workspace)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if labelled_rows(ws, model).count("*").fetchall()[0][0] >= labelled:
                return
        except Exception:  # noqa: BLE001 - no log file yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: the prediction log did not show {labelled} labelled rows")
