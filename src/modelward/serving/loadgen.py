"""A small async HTTP/1.1 load generator (keep-alive connections, raw asyncio streams).

Used by ``modelward benchmark`` and by ``benchmarks/serving.py`` when wrk is missing.
It measures each request from write to the last body byte.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from modelward.errors import ConfigError

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self, rows_per_request: int = 1) -> dict[str, Any]:
        rate = self.requests / self.seconds if self.seconds else 0.0
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(rate, 1),
            "rows_per_s": round(rate * rows_per_request, 1),
            "p50_ms": _round(self.percentile(50)),
            "p95_ms": _round(self.percentile(95)),
            "p99_ms": _round(self.percentile(99)),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _request(url: str, body: Any, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError(f"--url {url!r} must be an http:// URL", field="url")
    payload = orjson.dumps(body)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    return parts.hostname, parts.port or 80, raw


async def _worker(host: str, port: int, raw: bytes, deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(raw)
            status_line = await reader.readline()
            if not status_line:
                result.errors += 1
                return
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                key, _, value = line.partition(b":")
                key = key.strip().lower()
                if key == b"content-length":
                    length = int(value)
                elif key == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1
            if status >= 400:
                result.errors += 1
            if close:
                return
    except (OSError, asyncio.IncompleteReadError):
        result.errors += 1
    finally:
        writer.close()


async def _run(url: str, body: Any, headers: dict[str, str], connections: int, seconds: float):
    host, port, raw = _request(url, body, headers)
    result = LoadResult()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, port, raw, deadline, result) for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(
    url: str,
    body: Any,
    *,
    connections: int = 1,
    seconds: float = 10.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """POST ``body`` (JSON) to ``url`` from ``connections`` keep-alive connections."""
    return asyncio.run(_run(url, body, headers or {}, connections, seconds))
