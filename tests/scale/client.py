"""A client host's traffic: ``python client.py URL TOKEN ROWS.json COUNT OUT [THREADS]``.

Sends ``COUNT`` predictions (the rows in turn, each with its own ``X-Request-Id``
``c<n>``) to ``URL`` from ``THREADS`` threads, and writes one JSON line per request to
``OUT``: its id, the HTTP status (0 when no answer came) and the version that answered.
``COUNT`` 0 sends until a file ``OUT.stop`` exists.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from pathlib import Path

import httpx


def main(url: str, token: str, rows_file: str, count: int, out: str, threads: int) -> None:
    rows = json.loads(Path(rows_file).read_text())
    stop = Path(out + ".stop")
    numbers = itertools.count() if count == 0 else iter(range(count))
    lock = threading.Lock()
    lines: list[str] = []

    def work() -> None:
        with httpx.Client(base_url=url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            while not stop.exists():
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                rid = f"c{n}"
                try:
                    answer = http.post("/v1/models/heart/predict",
                                       json={"inputs": rows[n % len(rows)]},
                                       headers={"X-Request-Id": rid})  # fmt: skip
                    status = answer.status_code
                    version = answer.json().get("version") if status == 200 else None
                except httpx.HTTPError:
                    status, version = 0, None
                with lock:
                    lines.append(json.dumps({"id": rid, "status": status, "version": version}))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    url, token, rows_file, count, out = sys.argv[1:6]
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    main(url, token, rows_file, int(count), out, threads)
