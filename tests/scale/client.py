"""A client host's traffic: ``python client.py KIND URL TOKEN ROWS.json COUNT OUT [THREADS]``.

``KIND`` ``predict`` sends predictions (the rows in turn, each with its own
``X-Request-Id`` ``c<n>``); ``chat`` sends chat calls to ``route:factual`` with the
official openai SDK (question ``n`` each). ``COUNT`` requests go to ``URL`` from
``THREADS`` threads (0: until a file ``OUT.stop`` exists), and one JSON line per request
is written to ``OUT``: its id, the HTTP status (0 when no answer came, with the client's
error), the version that answered a prediction, the error code of a refused call.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def predictor(url: str, token: str, rows: list[dict[str, Any]]) -> Callable[[int], dict]:
    http = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def send(n: int) -> dict[str, Any]:
        rid = f"c{n}"
        try:
            answer = http.post("/v1/models/heart/predict", json={"inputs": rows[n % len(rows)]},
                               headers={"X-Request-Id": rid})  # fmt: skip
        except httpx.HTTPError as exc:
            return {"id": rid, "status": 0, "error": repr(exc)[:300]}
        version = answer.json().get("version") if answer.status_code == 200 else None
        return {"id": rid, "status": answer.status_code, "version": version}

    return send


def chatter(url: str, token: str) -> Callable[[int], dict]:
    from openai import APIConnectionError, APIStatusError, OpenAI

    client = OpenAI(base_url=url + "/v1", api_key=token, max_retries=0, timeout=30)

    def send(n: int) -> dict[str, Any]:
        try:
            answer = client.chat.completions.create(
                model="route:factual", messages=[{"role": "user", "content": f"Question {n}?"}]
            )
        except APIStatusError as exc:
            try:
                code = exc.response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = None
            return {"id": f"q{n}", "status": exc.status_code, "code": code}
        except APIConnectionError as exc:
            return {"id": f"q{n}", "status": 0, "error": repr(exc.__cause__ or exc)[:300]}
        return {"id": answer.id, "status": 200, "model": answer.model}

    return send


def main(kind: str, url: str, token: str, rows_file: str, count: int, out: str, threads: int):
    rows = json.loads(Path(rows_file).read_text()) if kind == "predict" else []
    stop = Path(out + ".stop")
    numbers = itertools.count() if count == 0 else iter(range(count))
    lock = threading.Lock()
    lines: list[str] = []

    def work() -> None:
        send = predictor(url, token, rows) if kind == "predict" else chatter(url, token)
        while not stop.exists():
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            line = json.dumps(send(n))
            with lock:
                lines.append(line)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    kind, url, token, rows_file, count, out = sys.argv[1:7]
    threads = int(sys.argv[7]) if len(sys.argv) > 7 else 4
    main(kind, url, token, rows_file, int(count), out, threads)
