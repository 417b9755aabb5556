"""nginx from deploy/nginx/modelward.conf, run for a test: in a temporary prefix, on
127.0.0.1, in front of real `modelward serve` replicas."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from conftest import ROOT
from deploy.kit import NGINX_CONF, free_port, run
from serving.conftest import Server, wait_for

UPSTREAM_SERVER = re.compile(r"^(\s*)server 10\.0\.0\.\d+:8000 (.*);$", re.MULTILINE)


def configure(prefix: Path, *, listen: str | None = None, replicas: list[str] = ()) -> Path:
    """The shipped file with only its log folder moved into ``prefix`` (and, to run it,
    its listen address and upstream servers replaced), inside a minimal main
    configuration whose files all stay in ``prefix``."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    assert "/var/log/nginx/" in text
    text = text.replace("/var/log/nginx/", f"{prefix}/")
    if listen is not None:
        assert text.count("listen 80;") == 1
        text = text.replace("listen 80;", f"listen {listen};")
    if replicas:
        params = {match.group(2) for match in UPSTREAM_SERVER.finditer(text)}
        assert len(params) == 1, "the shipped replicas should share their health parameters"
        (health,) = params
        lines = "\n".join(f"    server {r} {health};" for r in replicas)
        text = UPSTREAM_SERVER.sub("", text, count=0)
        text = text.replace("upstream modelward {", "upstream modelward {\n" + lines, 1)
    (prefix / "modelward.conf").write_text(text, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the temp prefix
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log info;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n{temp}\n    include {prefix}/modelward.conf;\n}}\n",
        encoding="utf-8",
    )
    return main


def nginx_test(nginx: str, main: Path) -> subprocess.CompletedProcess[str]:
    prefix = main.parent
    return run(nginx, "-t", "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(main))


@dataclass
class Balancer:
    url: str
    access_log: Path
    proc: subprocess.Popen[bytes]

    def logged(self, count: int, path: str = "/v1/models/heart/predict") -> list[str]:
        """The access log's lines of requests to ``path``, once there are ``count`` (nginx
        writes a request's line just after its answer)."""

        def lines() -> list[str]:
            text = self.access_log.read_text(encoding="utf-8")
            return [line for line in text.splitlines() if f" {path} " in line]

        wait_for(lambda: len(lines()) >= count, 30, f"{count} requests to {path} logged")
        return lines()

    def line_with(self, text: str) -> str:
        """The access log's line holding ``text``, once nginx has written it."""

        def found() -> list[str]:
            log = self.access_log.read_text(encoding="utf-8").splitlines()
            return [line for line in log if text in line]

        wait_for(found, 30, f"a line with {text} in the access log")
        return found()[0]


def counted(url: str, metric: str, **labels: str) -> float:
    """The sum of ``metric``'s samples with these labels, from a replica's own /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def served_ok(url: str) -> float:
    """A replica's count of answered heart predictions."""
    return counted(url, "modelward_requests_total", model="heart", status="ok")


def spawn_server(root: Path, log: Path) -> Server:
    """`modelward serve --port 0` on the workspace at ``root`` (nothing else from this
    process's environment), once it answers /readyz; for fixtures wider than one test."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELWARD_")}
    environ |= {"MODELWARD_HOME": str(root), "PYTHONPATH": str(ROOT / "src")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    server = Server("", proc, log)

    def listening() -> bool:
        found = re.search(r"listening on (http://[^\s\"]+)", server.output())
        assert found or proc.poll() is None, server.output()
        server.url = found.group(1) if found else ""
        return bool(found)

    def ready() -> bool:
        try:
            return httpx.get(server.url + "/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(listening, 60, "the server listens")
        wait_for(ready, 60, "the server is ready")
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return server


def start_balancer(
    nginx: str, prefix: Path, servers: list[Server], *, address: str = "127.0.0.1"
) -> Balancer:
    """nginx from the shipped file in front of ``servers``, listening on ``address``
    (a free port), once it answers."""
    prefix.mkdir()
    port = free_port()
    addresses = [server.url.removeprefix("http://") for server in servers]
    main = configure(prefix, listen=f"{address}:{port}", replicas=addresses)
    checked = nginx_test(nginx, main)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(
        [nginx, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}:{port}"

    def up() -> bool:
        assert proc.poll() is None, (prefix / "error.log").read_text()
        try:
            return httpx.get(url + "/lb/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 30, "nginx answers /lb/healthz")
    except BaseException:
        stop_balancer(proc)
        raise
    return Balancer(url, prefix / "modelward.access.log", proc)


def stop_balancer(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
