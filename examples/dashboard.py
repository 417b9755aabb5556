"""The last act of `make demo`: the web dashboard over the demos' workspace.

    python examples/dashboard.py WORKDIR

Serves WORKDIR/workspace (the heart-disease and LLM demos' records) with `modelward
serve`, checks that the dashboard's home page answers, and prints its URL. In a terminal
the server stays up until Ctrl-C; anywhere else (CI, a pipe, the tests) it stops at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from demokit import Server, console, say, step  # noqa: E402


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def main() -> None:
    import httpx

    root = Path(sys.argv[1]) / "workspace"
    os.environ["MODELWARD_HOME"] = str(root)
    step("The dashboard: everything above, in one place")
    with Server(root) as server:
        url = f"{server.url}/ui/"
        home = httpx.get(url, timeout=30)
        if home.status_code != 200 or "heart-disease" not in home.text:
            raise SystemExit(f"demo: the dashboard's home page answered {home.status_code}")
        console.print(f"[bold]Dashboard:[/bold] {url}")
        if not interactive():
            say("(not a terminal: the server stops now; `modelward ui` serves it again:")
            say(f"  MODELWARD_HOME={root} modelward ui)")
            return
        say("Open it in a browser; Ctrl-C stops the server.")
        try:
            server.process.wait()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            console.print()


if __name__ == "__main__":
    main()
