from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.sqlite_only


class MetricsServer:
    """A real server on 127.0.0.1 exposing Prometheus text, as `modelward serve` does."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

        registry = CollectorRegistry()
        requests = Counter("modelward_requests", "requests", ["model"], registry=registry)
        requests.labels("heart").inc(7)
        requests.labels("other").inc(3)
        Gauge("process_resident_memory_bytes", "rss", registry=registry).set(64 * 2**20)
        body = generate_latest(registry)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/metrics":
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metrics_server():
    server = MetricsServer()
    yield server
    server.close()


def test_resources_with_server_metrics(workspace, cli, metrics_server):
    import psutil

    ran = cli(
        "monitor", "resources", "--url", metrics_server.url, "--alert-threshold", "1", "--json"
    )
    assert ran.exit_code == 0, ran.stderr
    body = ran.json
    assert 0 <= body["results"]["cpu"] <= 1
    # the disk is shared: other processes write between the command's reading and this one
    assert body["results"]["disk"] == pytest.approx(
        psutil.disk_usage(str(workspace.root)).percent / 100, abs=0.01
    )
    server = body["results"]["server"]
    assert server["metrics"]["modelward_requests_total"] == 10
    assert server["process_resident_memory_bytes"] == 64 * 2**20
    runs = workspace.registry.list_runs(kinds=["monitor-resources"])
    assert runs[0].verdict == "pass"


def test_resources_threshold_breach_and_continuous(workspace, cli):
    ran = cli(
        "monitor",
        "resources",
        "--alert-threshold",
        "0.000001",
        "--continuous",
        "--every",
        "10ms",
        "--max-runs",
        "2",
    )
    assert ran.exit_code == 1
    assert ran.stdout.count("fail") == 2
    assert "disk at" in ran.stderr and "> 0%" in ran.stderr


def test_resources_bad_input(workspace, cli, metrics_server):
    ran = cli("monitor", "resources", "--alert-threshold", "9")
    assert ran.exit_code == 2 and "must be a fraction" in ran.stderr
    ran = cli("monitor", "resources", "--url", "http://127.0.0.1:1")
    assert ran.exit_code == 2 and "cannot reach http://127.0.0.1:1/metrics" in ran.stderr
    ran = cli("monitor", "resources", "--url", metrics_server.url + "/nothing")
    assert ran.exit_code == 2 and "answered HTTP 404" in ran.stderr
    assert workspace.registry.list_runs() == []


def test_watch_runs_rounds_and_records(served, cli):
    from tests.monitor.conftest import UNTIL  # noqa: F401 - watch always ends now

    ran = cli(
        "monitor",
        "watch",
        "heart",
        "--every",
        "10ms",
        "--max-runs",
        "2",
        "--checks",
        "predictions,quality",
        "--last",
        "30d",
    )
    lines = [line for line in ran.stdout.splitlines() if "heart" in line]
    assert len(lines) == 4
    kinds = [r.kind for r in served.ws.registry.list_runs(model="heart")]
    assert kinds.count("monitor-quality") == 2 and kinds.count("monitor-predictions") == 2
    assert ran.exit_code == (1 if "fail" in lines[-1] or "fail" in lines[-2] else 0)


def test_watch_bad_input(served, cli):
    ran = cli("monitor", "watch", "heart", "--checks", "coffee", "--max-runs", "1")
    assert ran.exit_code == 2 and "cannot watch coffee" in ran.stderr
    ran = cli("monitor", "watch", "heart", "--every", "0s", "--max-runs", "1")
    assert ran.exit_code == 2 and "--every must be longer than zero" in ran.stderr
    ran = cli("monitor", "resources", "--continuous", "--every", "0s", "--max-runs", "2")
    assert ran.exit_code == 2 and "--every must be longer than zero" in ran.stderr
    ran = cli("monitor", "history", "--check", "bogus")
    assert ran.exit_code == 2 and "--check 'bogus' is not a stored check" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
