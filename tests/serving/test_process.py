"""``modelward serve`` as a real process: clean shutdown flushes, a kill loses nothing,
binding rules, and one-line errors for bad flags."""

from __future__ import annotations

import signal

import httpx
import pytest

from conftest import FEATURES

from .conftest import logged_ids, send_predictions, set_policy

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def slow_flush(deployed):
    """Flushes only at shutdown (the interval is ten minutes)."""
    set_policy(deployed, "serving", "flush_ms", 600_000)
    set_policy(deployed, "serving", "flush_rows", 1_000_000)
    return deployed


def test_sigterm_flushes_everything_acknowledged_and_exits_0(slow_flush, start_server, cleveland):
    server = start_server()
    ids = send_predictions(server.url, cleveland, 30)
    assert set(logged_ids(slow_flush)) == set()
    assert server.stop(signal.SIGTERM) == 0, server.output()
    assert set(logged_ids(slow_flush)) == set(ids)
    assert "prediction log flushed" in server.output()


def test_sigkill_loses_nothing_the_next_start_replays(slow_flush, start_server, cleveland):
    server = start_server()
    ids = send_predictions(server.url, cleveland, 30)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    assert set(logged_ids(slow_flush)) == set()
    again = start_server()
    assert set(logged_ids(slow_flush)) == set(ids)  # replayed at start, before serving
    assert again.stop() == 0


def test_logs_are_json_lines_without_secrets(deployed, start_server, cleveland):
    from modelward.http.tokens import create_token

    _, secret = create_token(deployed.db, "app", ["predict"])
    server = start_server()
    with httpx.Client(base_url=server.url) as http:
        row = cleveland[FEATURES].fillna(0).iloc[0].to_dict()
        headers = {"Authorization": f"Bearer {secret}"}
        assert http.post("/v1/models/heart/predict", json={"inputs": row}, headers=headers)
    server.stop()
    import json

    lines = [json.loads(line) for line in server.output().splitlines() if line.strip()]
    assert all({"ts", "level", "message"} <= set(line) for line in lines)
    assert secret not in server.output()


def test_binding_beyond_loopback_needs_tokens(deployed, cli):
    ran = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert ran.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without API tokens" in ran.stderr
    assert ran.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--port", "70000"], "is not a TCP port"),
        (["--env", "qa"], "unknown environment 'qa'"),
        (["--log-level", "loud"], "--log-level 'loud'"),
    ],
)
def test_bad_serve_flags_exit_2(deployed, cli, args, text):
    ran = cli("serve", *args)
    assert ran.exit_code == 2 and text in ran.stderr and ran.stderr.count("\n") == 1


def test_a_taken_port_is_one_line(deployed, start_server):
    first = start_server()
    port = first.url.rsplit(":", 1)[1]
    import os
    import subprocess
    import sys

    from conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "serve", "--port", port],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_tokens_commands(deployed, cli):
    made = cli("tokens", "create", "app", "--scope", "predict", "--json")
    assert made.exit_code == 0, made.stderr
    secret = made.json["token"]
    assert secret.startswith("mw_") and len(secret) > 40
    listed = cli("tokens", "list", "--json").json
    assert listed == [{**{k: v for k, v in made.json.items() if k != "token"}}]
    assert secret not in cli("tokens", "list").stdout
    from modelward.http.tokens import active_tokens, hash_token

    assert hash_token(secret) in active_tokens(deployed.db)
    assert cli("tokens", "revoke", "app").exit_code == 0
    assert active_tokens(deployed.db) == {}


def test_tokens_from_python_are_recorded_without_their_secret(deployed):
    info, secret = deployed.tokens.create("app")
    assert info.scopes == ("predict", "feedback")
    assert [t.name for t in deployed.tokens.list()] == ["app"]
    assert deployed.tokens.revoke("app").revoked_at is not None
    runs = deployed.registry.list_runs(kinds=["token"])
    assert [r.inputs["action"] for r in runs] == ["revoke", "create"]
    assert all(secret not in str(r.to_dict()) for r in runs)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["tokens", "create", "Bad Name"], "is invalid"),
        (["tokens", "create", "x", "--scope", "root"], "unknown scope 'root'"),
        (["tokens", "create", "app"], "a token named 'app' exists"),
        (["tokens", "revoke", "nobody"], "token 'nobody' does not exist"),
    ],
)
def test_token_mistakes_exit_2_and_change_nothing(deployed, cli, args, text):
    cli("tokens", "create", "app")
    before = cli("tokens", "list", "--json").json
    ran = cli(*args)
    assert ran.exit_code == 2 and text in ran.stderr and ran.stderr.count("\n") == 1
    assert cli("tokens", "list", "--json").json == before


def test_workers_serve_and_shut_down_cleanly(deployed, start_server, cleveland):
    server = start_server("--workers", "2")
    ids = send_predictions(server.url, cleveland, 20)
    assert server.stop() == 0, server.output()
    assert set(logged_ids(deployed)) == set(ids)
    assert server.output().count("prediction log flushed") == 2


def test_a_connection_before_the_server_is_up_is_refused_not_held(deployed, tmp_path):
    """While a replica starts (modules, models, the log's replay) its port refuses
    connections: a balancer moves on at once instead of queueing a request behind the
    startup. The first connection it accepts comes with the "listening on" line."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from conftest import ROOT

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.cli.main", "serve", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    refused = 0
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                refused += 1
                time.sleep(0.01)
        accepted = time.monotonic()
        while "listening on" not in log.read_text():
            assert time.monotonic() - accepted < 1.0, "a connection was accepted while starting"
            time.sleep(0.01)
        assert refused > 0  # it was seen starting
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
